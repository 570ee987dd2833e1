package authz

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vmcp-dev/vmcp/policies"
)

// Query is the Rego rule authz evaluates.
const Query = "data.vmcp.authz.decision"

// policy is the prepared vmcp.authz query: compiled once per configuration or policy change.
type policy struct {
	query  rego.PreparedEvalQuery
	source string
}

// decision is the policy's answer.
type decision struct {
	allow   bool
	reason  string
	scope   string
	headers map[string]string
}

// loadPolicy compiles the .rego files in dir (tests excluded), or the embedded defaults when dir
// is empty.
func loadPolicy(ctx context.Context, dir string) (*policy, error) {
	modules := map[string]string{}
	source := "embedded default policies"
	if dir == "" {
		defs, err := policies.Defaults()
		if err != nil {
			return nil, err
		}
		modules = defs
	} else {
		source = dir
		paths, err := filepath.Glob(filepath.Join(dir, "*.rego"))
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if strings.HasSuffix(p, "_test.rego") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("policy %s: %w", p, err)
			}
			modules[p] = string(b)
		}
	}
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	opts := []func(*rego.Rego){rego.Query(Query)}
	for _, n := range names {
		opts = append(opts, rego.Module(n, modules[n]))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policies from %s: %w", source, err)
	}
	return &policy{query: pq, source: source}, nil
}

// decide evaluates the policy. Any failure to produce a well-formed decision is a denial: the
// gateway fails closed.
func (p *policy) decide(ctx context.Context, input ast.Value) (decision, error) {
	rs, err := p.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return decision{}, fmt.Errorf("evaluate %s: %w", Query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return decision{}, fmt.Errorf("%s is undefined for this request", Query)
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return decision{}, fmt.Errorf("%s is not an object", Query)
	}
	d := decision{}
	d.allow, ok = obj["allow"].(bool)
	if !ok {
		return decision{}, fmt.Errorf("%s.allow is not a boolean", Query)
	}
	d.reason, _ = obj["reason"].(string)
	d.scope, _ = obj["scope"].(string)
	if hs, ok := obj["headers"].(map[string]any); ok {
		d.headers = make(map[string]string, len(hs))
		for k, v := range hs {
			if s, ok := v.(string); ok {
				d.headers[strings.ToLower(k)] = s
			}
		}
	}
	return d, nil
}

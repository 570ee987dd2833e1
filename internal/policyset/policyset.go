// Package policyset loads and compiles vmcp's Rego policies: the embedded defaults, or an
// operator's directory of .rego files. Each query is prepared once per configuration or policy
// change, never per request.
package policyset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vmcp-dev/vmcp/policies"
)

// Set is a loaded collection of Rego modules.
type Set struct {
	modules map[string]string
	// Source says where the modules came from, for logs and audit records.
	Source string
}

var packageRE = regexp.MustCompile(`(?m)^\s*package\s+([A-Za-z0-9_.]+)`)

// Load reads the .rego files in dir (tests excluded). A package the directory does not define
// (say vmcp.tools, when the operator only wrote vmcp.authz) keeps its embedded default, so a
// partial policy directory never leaves a decision undefined. dir "" is the defaults alone.
func Load(dir string) (*Set, error) {
	defaults, err := policies.Defaults()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return &Set{modules: defaults, Source: "embedded default policies"}, nil
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.rego"))
	if err != nil {
		return nil, err
	}
	mods := map[string]string{}
	defined := map[string]bool{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.rego") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", p, err)
		}
		mods[p] = string(b)
		if m := packageRE.FindStringSubmatch(string(b)); m != nil {
			defined[m[1]] = true
		}
	}
	for name, src := range defaults {
		if m := packageRE.FindStringSubmatch(src); m != nil && !defined[m[1]] {
			mods["default:"+name] = src
		}
	}
	return &Set{modules: mods, Source: dir}, nil
}

// Prepare compiles query over the set.
func (s *Set) Prepare(ctx context.Context, query string) (rego.PreparedEvalQuery, error) {
	names := make([]string, 0, len(s.modules))
	for n := range s.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	opts := []func(*rego.Rego){rego.Query(query)}
	for _, n := range names {
		opts = append(opts, rego.Module(n, s.modules[n]))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("compile policies from %s: %w", s.Source, err)
	}
	return pq, nil
}

// Decision is the common shape of vmcp's policy answers: {"allow": bool, "reason": string, …}.
type Decision struct {
	Allow  bool
	Reason string
	// Fields holds the whole answer, for rule-specific extras (scope, headers).
	Fields map[string]any
}

// Decide evaluates a prepared decision query. An answer that is undefined or not of the
// decision shape is an error, which callers turn into a denial: policies fail closed.
func Decide(ctx context.Context, pq rego.PreparedEvalQuery, query string, input ast.Value) (Decision, error) {
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate %s: %w", query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, fmt.Errorf("%s is undefined for this input", query)
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return Decision{}, fmt.Errorf("%s is not an object", query)
	}
	allow, ok := obj["allow"].(bool)
	if !ok {
		return Decision{}, fmt.Errorf("%s.allow is not a boolean", query)
	}
	reason, _ := obj["reason"].(string)
	return Decision{Allow: allow, Reason: reason, Fields: obj}, nil
}

package authz

import (
	"context"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vmcp-dev/vmcp/internal/policyset"
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

// loadPolicy compiles vmcp.authz from the .rego files in dir, or the embedded defaults.
func loadPolicy(ctx context.Context, dir string) (*policy, error) {
	set, err := policyset.Load(dir)
	if err != nil {
		return nil, err
	}
	pq, err := set.Prepare(ctx, Query)
	if err != nil {
		return nil, err
	}
	return &policy{query: pq, source: set.Source}, nil
}

// decide evaluates the policy. Any failure to produce a well-formed decision is a denial: the
// gateway fails closed.
func (p *policy) decide(ctx context.Context, input ast.Value) (decision, error) {
	pd, err := policyset.Decide(ctx, p.query, Query, input)
	if err != nil {
		return decision{}, err
	}
	d := decision{allow: pd.Allow, reason: pd.Reason}
	d.scope, _ = pd.Fields["scope"].(string)
	if hs, ok := pd.Fields["headers"].(map[string]any); ok {
		d.headers = make(map[string]string, len(hs))
		for k, v := range hs {
			if s, ok := v.(string); ok {
				d.headers[strings.ToLower(k)] = s
			}
		}
	}
	return d, nil
}

package authz

import (
	"context"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vmcp-dev/vmcp/internal/policyset"
)

// Query is the Rego rule authz evaluates.
const Query = "data.vmcp.authz.decision"

// policy is the prepared vmcp.authz query: compiled once per configuration or policy change.
type policy struct {
	query  *policyset.Query
	source string
	// perCaller is set when the decision depends on the caller and virtual server alone: no
	// policy reads input.request or input.mcp or calls a nondeterministic builtin (the set's
	// data is fixed per set). An allow is then kept with the verified token and reused for its
	// later requests — unless decision logs are on, which must receive every decision.
	perCaller bool
}

// decision is the policy's answer.
type decision struct {
	allow   bool
	reason  string
	scope   string
	headers map[string]string
	// id is the decision log's id for it; revision the policy revision that decided.
	id, revision string
}

// loadPolicy compiles vmcp.authz from the active set, or the .rego files in dir, or the
// embedded defaults.
func loadPolicy(ctx context.Context, active *policyset.Set, dir string) (*policy, error) {
	set, err := policyset.Resolve(active, dir)
	if err != nil {
		return nil, err
	}
	pq, err := set.Prepare(ctx, Query)
	if err != nil {
		return nil, err
	}
	in, err := set.Inputs()
	if err != nil {
		return nil, err
	}
	return &policy{query: pq, source: set.Source, perCaller: in.Deterministic && !in.Reads("request") && !in.Reads("mcp") && !set.LogsDecisions()}, nil
}

// decide evaluates the policy. Any failure to produce a well-formed decision is a denial: the
// gateway fails closed.
func (p *policy) decide(ctx context.Context, input ast.Value) (decision, error) {
	pd, err := p.query.Decide(ctx, input)
	if err != nil {
		return decision{id: pd.ID, revision: pd.Revision}, err
	}
	d := decision{allow: pd.Allow, reason: pd.Reason, id: pd.ID, revision: pd.Revision}
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

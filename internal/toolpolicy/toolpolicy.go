// Package toolpolicy evaluates the vmcp.tools Rego policy: which tools a caller sees and whether
// a call may go ahead. Compiled once per configuration or policy change.
package toolpolicy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
)

// Query is the rule evaluated.
const Query = "data.vmcp.tools.decision"

// Actions.
const (
	ActionList = "list"
	ActionCall = "call"
)

// Policy is the prepared vmcp.tools query.
type Policy struct {
	query rego.PreparedEvalQuery
	// Source names where the policies came from, for audit records and errors.
	Source string
}

// Compile prepares vmcp.tools from the configuration's policy directory (or the defaults).
func Compile(ctx context.Context, cfg *config.Config) (*Policy, error) {
	dir := ""
	if cfg.Auth.Policies != "" {
		dir = cfg.Resolve(cfg.Auth.Policies)
	}
	set, err := policyset.Load(dir)
	if err != nil {
		return nil, err
	}
	pq, err := set.Prepare(ctx, Query)
	if err != nil {
		return nil, err
	}
	return &Policy{query: pq, Source: set.Source}, nil
}

// Caller is who asks.
type Caller struct {
	Subject, Email, ClientID string
	Groups                   []string
}

// Input is one question to the policy.
type Input struct {
	Action        string
	Caller        Caller
	VirtualServer string
	Access        config.Access
	Connector     string
	Tool          string // the connector's name for it
	Exposed       string // the client's name for it
	Arguments     json.RawMessage
}

// Decision is the policy's answer.
type Decision struct {
	Allow  bool
	Reason string
}

// Decide evaluates the policy. A policy that cannot decide denies.
func (p *Policy) Decide(ctx context.Context, in Input) (Decision, error) {
	tools := map[string]any{}
	for pattern, groups := range in.Access.Tools {
		tools[pattern] = strings2any(groups)
	}
	doc := map[string]any{
		"action":    in.Action,
		"subject":   in.Caller.Subject,
		"email":     in.Caller.Email,
		"client_id": in.Caller.ClientID,
		"groups":    strings2any(in.Caller.Groups),
		"virtual_server": map[string]any{
			"name": in.VirtualServer,
			"access": map[string]any{
				"groups": strings2any(in.Access.Groups),
				"roles":  strings2any(in.Access.Roles),
				"tools":  tools,
			},
		},
		"connector": in.Connector,
		"tool":      map[string]any{"name": in.Tool, "exposed": in.Exposed},
	}
	if len(in.Arguments) > 0 {
		var args any
		if err := json.Unmarshal(in.Arguments, &args); err != nil {
			return Decision{}, fmt.Errorf("arguments are not JSON: %w", err)
		}
		doc["arguments"] = args
	}
	value, err := ast.InterfaceToValue(doc)
	if err != nil {
		return Decision{}, err
	}
	d, err := policyset.Decide(ctx, p.query, Query, value)
	return Decision{Allow: d.Allow, Reason: d.Reason}, err
}

func strings2any(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

// Action is what becomes of a request.
type Action int

// Actions.
const (
	// Aggregate: the aggregator answers the request, which goes on untouched (search_tools, a
	// completion vmcp cannot place, every method that is not routed).
	Aggregate Action = iota
	// Route: the request goes to Decision.Connector, its target renamed Decision.Original.
	Route
	// Refuse: the request is answered with Decision.Error (in an HTTP 200 answer).
	Refuse
)

func (a Action) String() string {
	switch a {
	case Route:
		return "route"
	case Refuse:
		return "refuse"
	}
	return "aggregate"
}

// Decision is what Decide decided about a request.
type Decision struct {
	Action Action
	// Connector is the connector the request was placed on: where it is routed, or whose policy
	// refused it ("" when it was refused before it was placed).
	Connector string
	// Target is the client's name for what the request names, once a call_tool is unwrapped ("" when
	// the request was refused or passed on before its target was read).
	Target string
	// Original is the connector's own name for the target (Route).
	Original string
	// Unwrapped says the request was a call_tool, whose Params Decide rewrote into the named
	// tool's tools/call: the target must be renamed even when Original is Target.
	Unwrapped bool
	// Arguments are the call's arguments when they are a JSON object, as the policy saw them.
	Arguments map[string]any
	// Error is the JSON-RPC error a refusal answers.
	Error *jsonrpc.Error
	// Audit is what the audit record says about the decision.
	Audit Audit
	// Cause is the error that made the decision a refusal — connectors' lists that could not be
	// read, a policy that could not decide — for the caller's log; never sent to the client.
	Cause error
}

// Audit is a decision's part of the audit record.
type Audit struct {
	// Decision is "allow" or "deny" once a policy decided; Policy names it (with its source,
	// on a denial), Reason is the policy's.
	Decision, Policy, Reason string
	// PolicyRevision and DecisionID identify the policy revision that decided and its decision
	// log entry.
	PolicyRevision, DecisionID string
	// Outcome is a refusal's audit outcome (audit.OutcomeError, OutcomeDenied, OutcomeUpstream).
	Outcome string
}

// Decide decides req, asking catalog what only the connectors' lists know (nil: nothing is known
// of them — names resolve by the configuration alone and no resource URI is placed). ctx bounds
// every wait on catalog; policy decisions are in memory and are not cut short by it.
func (t *Table) Decide(ctx context.Context, req Request, catalog Catalog) Decision {
	vs := req.VirtualServer
	if vs == nil {
		return refusal(jsonrpc.Errorf(jsonrpc.CodeInternalError, "no virtual server to route to"), audit.OutcomeError)
	}
	if req.Kind == NotRouted {
		return Decision{Action: Aggregate}
	}
	if !req.Named {
		if req.Kind == ByCompletionRef {
			// A completion for something vmcp cannot place: the aggregator answers it.
			return Decision{Action: Aggregate}
		}
		field := "name"
		if req.Kind == ByResourceURI {
			field = "uri"
		}
		return refusal(jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "%s needs a string %q", req.Method, field), audit.OutcomeError)
	}
	name := req.Target
	var d Decision
	if req.Kind == ByToolName && vs.discovery {
		var done bool
		if name, d, done = metaTool(req.Params, name); done {
			return d
		}
	}
	d.Target = name
	// Decoded once, for the tool policy and the audit record alike.
	var args any
	if raw := req.Params["arguments"]; len(raw) > 0 && json.Unmarshal(raw, &args) == nil {
		if m, ok := args.(map[string]any); ok {
			d.Arguments = m
		}
	}
	// req and d are copied in, not pointed to: pointers would move both to the heap.
	p := placement{t: t, vs: vs, req: req, catalog: catalog, ctx: ctx, d: d, name: name}
	p.place(args)
	return p.d
}

// refusal is a Decision that answers err.
func refusal(err *jsonrpc.Error, outcome string) Decision {
	return Decision{Action: Refuse, Error: err, Audit: Audit{Outcome: outcome}}
}

// placement places one request: it fills in d.
type placement struct {
	t       *Table
	vs      *VirtualServer
	req     Request
	catalog Catalog
	ctx     context.Context
	d       Decision
	// name is the target as the client named it (call_tool's tool, once unwrapped).
	name string
}

// refuse makes the decision a refusal with err, keeping what is already known for the audit
// record.
func (p *placement) refuse(err *jsonrpc.Error, outcome string) {
	p.d.Action, p.d.Error, p.d.Audit.Outcome = Refuse, err, outcome
}

// route makes the decision: to connector, under original.
func (p *placement) route(connector, original string) {
	p.d.Action, p.d.Connector, p.d.Original = Route, connector, original
}

// unknown refuses a target no connector of the virtual server has; a completion's goes to the
// aggregator instead, which answers it.
func (p *placement) unknown(what string) {
	if p.req.Kind == ByCompletionRef {
		p.d.Action = Aggregate
		return
	}
	p.refuse(jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown %s %q on virtual server %q", what, jsonrpc.Excerpt(p.name), p.vs.name), audit.OutcomeError)
}

// place picks the connector the request is for and the connector's own name for its target,
// and decides tool calls with the vmcp.tools policy, everything else with vmcp.connectors.
func (p *placement) place(args any) {
	vs, name := p.vs, p.name
	switch p.req.RefKind {
	case ByToolName:
		if !wellFormedToolName(name) {
			p.refuse(jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown tool %q on virtual server %q: not a valid MCP tool name", jsonrpc.Excerpt(name), vs.name), audit.OutcomeError)
			return
		}
		idx, err := p.index("tools")
		if err != nil {
			p.unavailable(err)
			return
		}
		conn, original, ok := vs.names.Resolve(name, idx)
		if !ok || !vs.connectors[conn] {
			p.unknown("tool")
			return
		}
		// With prefixes always on, the name alone picks the connector: whether that connector
		// has such a tool is asked of its list (cached), so that a made-up name after a real
		// prefix gets "unknown tool" here, as in every other prefix mode, instead of reaching the
		// connector. A name differing only in case from a curated one must be a connector's own
		// tool of exactly that name (it may not be a way to a hidden or restricted tool); when the
		// list cannot be read, that one is refused and any other call goes on, to fail at the
		// connector as a call to a connector that is down does.
		if caseVariant := vs.names.CaseVariant(name, conn, original); caseVariant || vs.names.Static() && p.catalog != nil {
			known, err := p.hasTool(conn, original)
			switch {
			case err != nil && caseVariant:
				p.unavailable(err)
				return
			case err == nil && !known:
				p.unknown("tool")
				return
			}
		}
		p.d.Connector = conn
		if p.decideCall(conn, original, args) {
			p.route(conn, original)
		}
	case ByPromptName:
		if vs.names.Static() {
			prefix, original, ok := strings.Cut(name, vs.separator)
			if ok && vs.connectors[prefix] && original != "" {
				p.decidePrimitive(prefix, original, toolpolicy.PrimitivePrompt)
				return
			}
			p.unknown("prompt")
			return
		}
		idx, err := p.index("prompts")
		if err != nil {
			p.unavailable(err)
			return
		}
		conn, original, ok := vs.prompts.Resolve(name, idx)
		if ok && vs.connectors[conn] {
			p.decidePrimitive(conn, original, toolpolicy.PrimitivePrompt)
			return
		}
		p.unknown("prompt")
	default: // ByResourceURI
		if p.catalog == nil {
			p.unknown("resource")
			return
		}
		conn, original, err := p.catalog.ResourceConnector(p.ctx, p.req.SignedIdentity, p.req.Caller.Subject, vs.name, name)
		if err != nil {
			p.unavailable(err)
			return
		}
		if vs.connectors[conn] && original != "" {
			p.decidePrimitive(conn, original, toolpolicy.PrimitiveResource)
			return
		}
		p.unknown("resource")
	}
}

// decideCall asks the vmcp.tools policy about one tool call; a refusal names the policy.
func (p *placement) decideCall(conn, original string, args any) bool {
	policy := p.t.policy
	// Not ctx: the policy is evaluated in memory, and the placing deadline bounds waits on
	// connectors, not a decision.
	d, err := policy.Decide(context.Background(), toolpolicy.Input{
		Action: toolpolicy.ActionCall, Scope: toolpolicy.NewScope(p.req.Caller, p.vs.policy),
		Connector: conn, Tool: original, Exposed: p.name, Arguments: args,
	})
	a := &p.d.Audit
	a.PolicyRevision, a.DecisionID = policy.Revision(), d.ID
	if err == nil && d.Allow {
		a.Decision, a.Policy, a.Reason = "allow", toolpolicy.Query, d.Reason
		return true
	}
	reason := d.Reason
	if err != nil {
		// Fail closed: a policy that cannot decide denies.
		p.d.Cause = fmt.Errorf("the tool policy failed: %w", err)
		reason = "the tool policy could not decide"
	}
	a.Decision, a.Policy, a.Reason = "deny", toolpolicy.Query+" ("+policy.Source+")", reason
	p.refuse(&jsonrpc.Error{
		Code:    jsonrpc.CodeForbidden,
		Message: fmt.Sprintf("tool %q denied by policy %s: %s", p.name, toolpolicy.Query, reason),
		Data:    mustJSON(map[string]string{"policy": toolpolicy.Query, "source": policy.Source, "reason": reason}),
	}, audit.OutcomeDenied)
	return false
}

// decidePrimitive asks vmcp.connectors whether the caller may read a resource or get a prompt
// (or subscribe, or complete one) of connector conn; a refusal names the policy, as a tool's does.
func (p *placement) decidePrimitive(conn, original, primitive string) {
	policy := p.t.policy
	d, err := policy.DecidePrimitive(context.Background(), toolpolicy.PrimitiveInput{
		Action: toolpolicy.ActionRead, Primitive: primitive, Scope: toolpolicy.NewScope(p.req.Caller, p.vs.policy),
		Connector: conn, Name: p.name,
	})
	a := &p.d.Audit
	a.PolicyRevision, a.DecisionID = policy.Revision(), d.ID
	p.d.Connector = conn
	if err == nil && d.Allow {
		a.Decision, a.Policy, a.Reason = "allow", toolpolicy.ConnectorsQuery, d.Reason
		p.route(conn, original)
		return
	}
	reason := d.Reason
	if err != nil {
		// Fail closed: a policy that cannot decide denies.
		p.d.Cause = fmt.Errorf("the connectors policy failed: %w", err)
		reason = "the connectors policy could not decide"
	}
	a.Decision, a.Policy, a.Reason = "deny", toolpolicy.ConnectorsQuery+" ("+policy.Source+")", reason
	what := strings.ReplaceAll(primitive, "_", " ")
	p.refuse(&jsonrpc.Error{
		Code:    jsonrpc.CodeForbidden,
		Message: fmt.Sprintf("%s %q denied by policy %s: %s", what, jsonrpc.Excerpt(p.name), toolpolicy.ConnectorsQuery, reason),
		Data:    mustJSON(map[string]string{"policy": toolpolicy.ConnectorsQuery, "source": policy.Source, "reason": reason}),
	}, audit.OutcomeDenied)
}

// index is the virtual server's current name index of tools or prompts; nil (and no error) when
// names are static.
func (p *placement) index(kind string) (*toolnames.Index, error) {
	if p.vs.names.Static() || p.catalog == nil {
		return nil, nil
	}
	return p.catalog.Index(p.ctx, p.req.SignedIdentity, p.req.Caller.Subject, p.vs.name, kind)
}

// hasTool says whether the connector lists a tool of exactly this name; false without a catalog.
func (p *placement) hasTool(conn, original string) (bool, error) {
	if p.catalog == nil {
		return false, nil
	}
	return p.catalog.HasTool(p.ctx, p.req.SignedIdentity, p.req.Caller.Subject, p.vs.name, conn, original)
}

// unavailable refuses a request vmcp could not place because the connectors' lists could not be
// read.
func (p *placement) unavailable(err error) {
	p.d.Cause = err
	p.refuse(jsonrpc.Errorf(jsonrpc.CodeInternalError, "the connectors of virtual server %q could not be listed", p.vs.name), audit.OutcomeUpstream)
}

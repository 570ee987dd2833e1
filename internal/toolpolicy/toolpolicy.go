// Package toolpolicy evaluates the vmcp.tools Rego policy: which tools a caller sees and whether
// a call may go ahead. Compiled once per configuration or policy change.
package toolpolicy

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
)

// Query is the rule evaluated for tools.
const Query = "data.vmcp.tools.decision"

// ConnectorsQuery is the rule evaluated for a connector's resources, resource templates and
// prompts.
const ConnectorsQuery = "data.vmcp.connectors.decision"

// Actions.
const (
	ActionList = "list"
	ActionCall = "call"
	// ActionRead is reading a resource, getting a prompt, subscribing or completing (ConnectorsQuery).
	ActionRead = "read"
)

// Primitives other than tools, as vmcp.connectors' input names them.
const (
	PrimitiveResource         = "resource"
	PrimitiveResourceTemplate = "resource_template"
	PrimitivePrompt           = "prompt"
)

// Policy is the prepared vmcp.tools query.
type Policy struct {
	query *policyset.Query
	// connectors is vmcp.connectors, for every primitive but tools.
	connectors *policyset.Query
	// Source names where the policies came from, for audit records and errors.
	Source string
	// memo reuses decisions (nil when the policies are not deterministic, or every decision
	// must reach a decision log); readsArgs says whether a call's arguments are part of the
	// question.
	memo      *memo
	readsArgs bool
}

// Compile prepares vmcp.tools from the configuration's active policy set (or its policy
// directory, or the defaults).
func Compile(ctx context.Context, cfg *config.Config) (*Policy, error) {
	set, err := policyset.Resolve(cfg.ActivePolicies, cfg.PolicyDir())
	if err != nil {
		return nil, err
	}
	pq, err := set.Prepare(ctx, Query)
	if err != nil {
		return nil, err
	}
	cq, err := set.Prepare(ctx, ConnectorsQuery)
	if err != nil {
		return nil, err
	}
	inputs, err := set.Inputs()
	if err != nil {
		return nil, err
	}
	p := &Policy{query: pq, connectors: cq, Source: set.Source, readsArgs: inputs.Reads("arguments")}
	// A set's data is part of the set: new data compiles a new Policy, with an empty memo.
	if inputs.Deterministic && !set.LogsDecisions() {
		p.memo = newMemo(memoSize)
	}
	return p, nil
}

// Caller is who asks.
type Caller struct {
	Subject, Email, ClientID string
	Groups                   []string
}

// VirtualServer is a virtual server's part of the input, converted once per configuration.
type VirtualServer struct{ term *ast.Term }

// NewVirtualServer converts a virtual server's name and access configuration.
func NewVirtualServer(name string, a config.Access) VirtualServer {
	tools := make([][2]*ast.Term, 0, len(a.Tools))
	for pattern, groups := range a.Tools {
		tools = append(tools, ast.Item(ast.StringTerm(pattern), stringsTerm(groups)))
	}
	connectors := make([][2]*ast.Term, 0, len(a.Connectors))
	for conn, groups := range a.Connectors {
		connectors = append(connectors, ast.Item(ast.StringTerm(conn), stringsTerm(groups)))
	}
	return VirtualServer{term: ast.ObjectTerm(
		ast.Item(ast.StringTerm("name"), ast.StringTerm(name)),
		ast.Item(ast.StringTerm("access"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("groups"), stringsTerm(a.Groups)),
			ast.Item(ast.StringTerm("roles"), stringsTerm(a.Roles)),
			ast.Item(ast.StringTerm("tools"), ast.ObjectTerm(tools...)),
			ast.Item(ast.StringTerm("connectors"), ast.ObjectTerm(connectors...)),
		)),
	)}
}

// Scope is the part of the input fixed for one caller on one virtual server: built once per
// request, or once per tools/list however many tools it filters.
type Scope struct {
	items [][2]*ast.Term
	// key identifies the caller and vs the virtual server in reused decisions.
	key string
	vs  *ast.Term
}

// NewScope combines a caller and a virtual server.
func NewScope(c Caller, vs VirtualServer) Scope {
	return Scope{key: callerKey(c), vs: vs.term, items: [][2]*ast.Term{
		ast.Item(ast.StringTerm("subject"), ast.StringTerm(c.Subject)),
		ast.Item(ast.StringTerm("email"), ast.StringTerm(c.Email)),
		ast.Item(ast.StringTerm("client_id"), ast.StringTerm(c.ClientID)),
		ast.Item(ast.StringTerm("groups"), stringsTerm(c.Groups)),
		ast.Item(ast.StringTerm("virtual_server"), vs.term),
	}}
}

// Input is one question to the policy.
type Input struct {
	Action    string
	Scope     Scope
	Connector string
	Tool      string // the connector's name for it
	Exposed   string // the client's name for it
	// Arguments are the call's arguments as decoded JSON (action call only).
	Arguments any
}

// Decision is the policy's answer.
type Decision struct {
	Allow  bool
	Reason string
	// ID is the decision log's id for this decision ("" when decision logs are off).
	ID string
	// Revision is the policy revision that decided.
	Revision string
}

// Revision is the revision of the policies this Policy was compiled from.
func (p *Policy) Revision() string { return p.query.Revision() }

// Decide evaluates the policy, or reuses its answer to the same question: the policies are pure
// functions of their input and the set's data (Compile checked), so a tools/list of a thousand
// tools or a stream of calls costs one evaluation per distinct caller and tool. A call's
// arguments are left out of the question when no policy reads them. Decisions are not reused
// while decision logs are on: each one is logged with its own id. A policy that cannot decide
// denies.
func (p *Policy) Decide(ctx context.Context, in Input) (Decision, error) {
	if p.memo == nil || (p.readsArgs && in.Arguments != nil) {
		return p.evaluate(ctx, in)
	}
	in.Arguments = nil // no policy reads them: not worth converting, and not part of the question
	k := memoKey{scope: in.Scope.key, vs: in.Scope.vs, action: in.Action, connector: in.Connector, tool: in.Tool, exposed: in.Exposed}
	if d, ok := p.memo.get(k); ok {
		return d, nil
	}
	d, err := p.evaluate(ctx, in)
	if err == nil {
		p.memo.put(k, d)
	}
	return d, err
}

func (p *Policy) evaluate(ctx context.Context, in Input) (Decision, error) {
	input, err := in.Value()
	if err != nil {
		return Decision{}, err
	}
	d, err := p.query.Decide(ctx, input)
	return Decision{Allow: d.Allow, Reason: d.Reason, ID: d.ID, Revision: d.Revision}, err
}

// Value is the input document of this question, as the policy sees it (documented in
// policies/README.md and policies/input.schema.json).
func (in Input) Value() (ast.Value, error) {
	items := make([][2]*ast.Term, 0, len(in.Scope.items)+4)
	items = append(items, in.Scope.items...)
	items = append(items,
		ast.Item(ast.StringTerm("action"), ast.StringTerm(in.Action)),
		ast.Item(ast.StringTerm("connector"), ast.StringTerm(in.Connector)),
		ast.Item(ast.StringTerm("tool"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("name"), ast.StringTerm(in.Tool)),
			ast.Item(ast.StringTerm("exposed"), ast.StringTerm(in.Exposed)),
		)),
	)
	if in.Arguments != nil {
		args, err := ast.InterfaceToValue(in.Arguments)
		if err != nil {
			return nil, fmt.Errorf("arguments: %w", err)
		}
		items = append(items, ast.Item(ast.StringTerm("arguments"), ast.NewTerm(args)))
	}
	return ast.NewObject(items...), nil
}

// PrimitiveInput is one question to vmcp.connectors about a resource, resource template or prompt.
type PrimitiveInput struct {
	Action    string // ActionList or ActionRead
	Primitive string // PrimitiveResource, PrimitiveResourceTemplate or PrimitivePrompt
	Scope     Scope
	Connector string
	// Name is the resource's URI, the template's URI template, or the prompt's name as the
	// client sees it.
	Name string
}

// Value is the input document of this question (policies/README.md, policies/input.schema.json).
func (in PrimitiveInput) Value() ast.Value {
	items := make([][2]*ast.Term, 0, len(in.Scope.items)+4)
	items = append(items, in.Scope.items...)
	items = append(items,
		ast.Item(ast.StringTerm("action"), ast.StringTerm(in.Action)),
		ast.Item(ast.StringTerm("primitive"), ast.StringTerm(in.Primitive)),
		ast.Item(ast.StringTerm("connector"), ast.StringTerm(in.Connector)),
		ast.Item(ast.StringTerm("name"), ast.StringTerm(in.Name)),
	)
	return ast.NewObject(items...)
}

// DecidePrimitive asks vmcp.connectors whether the caller may list or use a connector's
// resource, resource template or prompt, reusing answers as Decide does. A policy that cannot
// decide denies.
func (p *Policy) DecidePrimitive(ctx context.Context, in PrimitiveInput) (Decision, error) {
	k := memoKey{scope: in.Scope.key, vs: in.Scope.vs, action: "connectors:" + in.Action, connector: in.Connector, tool: in.Primitive, exposed: in.Name}
	if p.memo != nil {
		if d, ok := p.memo.get(k); ok {
			return d, nil
		}
	}
	d, err := p.connectors.Decide(ctx, in.Value())
	out := Decision{Allow: d.Allow, Reason: d.Reason, ID: d.ID, Revision: d.Revision}
	if err == nil && p.memo != nil {
		p.memo.put(k, out)
	}
	return out, err
}

func stringsTerm(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

package extproc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/revision"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

// Catalog answers what routing needs from the connectors' lists: the tool-name index of a
// virtual server whose prefix mode is not always (and of its prompts), and which connector serves a resource URI.
// The aggregator implements it from its list cache.
type Catalog interface {
	// Index names the tools ("tools") or prompts ("prompts") of a virtual server.
	Index(ctx context.Context, signedIdentity, subject, vs, kind string) (*toolnames.Index, error)
	// ResourceConnector names the connector serving a resource URI and the URI it knows it by
	// (they differ for a URI two connectors share, listed as <connector>+<uri>).
	ResourceConnector(ctx context.Context, signedIdentity, subject, vs, uri string) (connector, original string, err error)
	// HasTool says whether connector lists a tool named exactly original on virtual server vs.
	HasTool(ctx context.Context, signedIdentity, subject, vs, connector, original string) (bool, error)
}

// codeHeaderMismatch is 2026-07-28's error for Mcp-Method, Mcp-Name or MCP-Protocol-Version
// headers that disagree with the body.
const codeHeaderMismatch = -32020

// mirrored are the request headers that 2026-07-28 clients copy from the body.
type mirrored struct {
	version, method, name string
	hasMethod, hasName    bool
}

// check rejects a request whose mirrored headers disagree with its body, on every revision: authz
// hands the Mcp-Method header to the access policy as input.mcp.method (it never sees the body),
// and proxies (Envoy included) may act on the headers while the connector acts on the body, so a
// mismatch is a way around policy — a 2025-11-25 tools/call sent with "Mcp-Method: tools/list"
// would pass a policy that denies tools/call. 2026-07-28 requests must also carry the headers.
func (m mirrored) check(msg *jsonrpc.Message, target string, hasTarget bool) *jsonrpc.Error {
	if msg.Method == "" {
		return nil // an answer to a connector's request names no method
	}
	if m.hasMethod && m.method != msg.Method {
		return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("header mismatch: Mcp-Method %q does not match the body's method %q", jsonrpc.Excerpt(m.method), jsonrpc.Excerpt(msg.Method))}
	}
	if !revision.Modern(m.version) || !msg.IsRequest() {
		if hasTarget && m.hasName && m.name != target {
			return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("header mismatch: Mcp-Name %q does not match the body's %q", jsonrpc.Excerpt(m.name), jsonrpc.Excerpt(target))}
		}
		return nil
	}
	if !m.hasMethod {
		return &jsonrpc.Error{Code: codeHeaderMismatch, Message: "missing required Mcp-Method header"}
	}
	if v := revision.FromMeta(msg.Params); v != "" && v != m.version {
		return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("header mismatch: MCP-Protocol-Version %q does not match the body's _meta version %q", jsonrpc.Excerpt(m.version), jsonrpc.Excerpt(v))}
	}
	if !hasTarget {
		return nil
	}
	if !m.hasName {
		return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("missing required Mcp-Name header for method %q", msg.Method)}
	}
	if m.name != target {
		return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("header mismatch: Mcp-Name %q does not match the body's %q", jsonrpc.Excerpt(m.name), jsonrpc.Excerpt(target))}
	}
	return nil
}

// routedKind says how a method's request names its connector.
type routedKind int

const (
	notRouted routedKind = iota
	byToolName
	byPromptName
	byResourceURI
	byCompletionRef
)

func kindOf(method string) routedKind {
	switch method {
	case "tools/call":
		return byToolName
	case "prompts/get":
		return byPromptName
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return byResourceURI
	case "completion/complete":
		return byCompletionRef
	}
	return notRouted
}

// target reads what a routed request names: the tool or prompt name, or the resource URI. For a
// completion, the prompt name or resource URI of its ref, and which of the two it is.
func target(kind routedKind, params map[string]json.RawMessage) (name string, refKind routedKind, ok bool) {
	field := "name"
	raw := params
	refKind = kind
	switch kind {
	case byResourceURI:
		field = "uri"
	case byCompletionRef:
		var ref map[string]json.RawMessage
		if json.Unmarshal(params["ref"], &ref) != nil || ref == nil {
			return "", kind, false
		}
		var typ string
		json.Unmarshal(ref["type"], &typ)
		switch typ {
		case "ref/prompt":
			refKind, field = byPromptName, "name"
		case "ref/resource":
			refKind, field = byResourceURI, "uri"
		default:
			return "", kind, false
		}
		raw = ref
	}
	if err := json.Unmarshal(raw[field], &name); err != nil || name == "" {
		return "", refKind, false
	}
	return name, refKind, true
}

// headerLookup is headerValue that also says whether the header was there at all.
func headerLookup(m *corev3.HeaderMap, name string) (string, bool) {
	for _, h := range m.GetHeaders() {
		if h.GetKey() == name {
			if rv := h.GetRawValue(); rv != nil {
				return string(rv), true
			}
			return h.GetValue(), true
		}
	}
	return "", false
}

// renameTarget puts the connector's own name for the target into a routed request.
func renameTarget(params map[string]json.RawMessage, kind routedKind, original string) error {
	b, err := json.Marshal(original)
	if err != nil {
		return err
	}
	switch kind {
	case byResourceURI:
		params["uri"] = b
		return nil
	case byCompletionRef:
	default:
		params["name"] = b
		return nil
	}
	var ref map[string]json.RawMessage
	if err := json.Unmarshal(params["ref"], &ref); err != nil {
		return err
	}
	// A completion names a prompt by name, a resource by URI (ref/resource).
	field := "name"
	if _, ok := ref["uri"]; ok {
		field = "uri"
	}
	ref[field] = b
	params["ref"], err = json.Marshal(ref)
	return err
}

// place picks the connector a routed request is for and the connector's own name for its
// target, and decides tool calls with the vmcp.tools policy. A nil connector without a refusal
// means the aggregator should answer (a completion vmcp cannot place).
func (e *edgeExchange) place(msg *jsonrpc.Message, kind, refKind routedKind, name string, args any) (*connector, string, *extprocv3.ProcessingResponse) {
	unknown := func(what string) (*connector, string, *extprocv3.ProcessingResponse) {
		if kind == byCompletionRef {
			return nil, "", nil
		}
		return nil, "", e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown %s %q on virtual server %q", what, jsonrpc.Excerpt(name), e.vs.name), audit.OutcomeError)
	}
	switch refKind {
	case byToolName:
		if !wellFormedToolName(name) {
			return nil, "", e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown tool %q on virtual server %q: not a valid MCP tool name", jsonrpc.Excerpt(name), e.vs.name), audit.OutcomeError)
		}
		idx, err := e.index("tools")
		if err != nil {
			return nil, "", e.unavailable(msg, err)
		}
		conn, original, ok := e.vs.names.Resolve(name, idx)
		c := e.vs.connectors[conn]
		if !ok || c == nil {
			return unknown("tool")
		}
		// With prefixes always on, the name alone picks the connector: whether that connector
		// has such a tool is asked of its list (cached), so that a made-up name after a real
		// prefix gets "unknown tool" here, as in every other prefix mode, instead of reaching the
		// connector. A name differing only in case from a curated one must be a connector's own
		// tool of exactly that name (it may not be a way to a hidden or restricted tool); when the
		// list cannot be read, that one is refused and any other call goes on, to fail at the
		// connector as a call to a connector that is down does.
		if caseVariant := e.vs.names.CaseVariant(name, conn, original); caseVariant || e.vs.names.Static() && e.catalog != nil {
			known, err := e.hasTool(conn, original)
			switch {
			case err != nil && caseVariant:
				return nil, "", e.unavailable(msg, err)
			case err == nil && !known:
				return unknown("tool")
			}
		}
		e.event.Connector = c.name
		if refused := e.decideCall(msg, c, original, name, args); refused != nil {
			return nil, "", refused
		}
		return c, original, nil
	case byPromptName:
		if e.vs.names.Static() {
			prefix, original, ok := strings.Cut(name, e.vs.separator)
			if c := e.vs.connectors[prefix]; ok && c != nil && original != "" {
				return e.decidePrimitive(msg, c, original, toolpolicy.PrimitivePrompt, name)
			}
			return unknown("prompt")
		}
		idx, err := e.index("prompts")
		if err != nil {
			return nil, "", e.unavailable(msg, err)
		}
		conn, original, ok := e.vs.prompts.Resolve(name, idx)
		if c := e.vs.connectors[conn]; ok && c != nil {
			return e.decidePrimitive(msg, c, original, toolpolicy.PrimitivePrompt, name)
		}
		return unknown("prompt")
	default: // byResourceURI
		if e.catalog == nil {
			return unknown("resource")
		}
		ctx, cancel := e.placing()
		conn, original, err := e.catalog.ResourceConnector(ctx, e.signed, e.subject, e.vs.name, name)
		cancel()
		if err != nil {
			return nil, "", e.unavailable(msg, err)
		}
		if c := e.vs.connectors[conn]; c != nil && original != "" {
			return e.decidePrimitive(msg, c, original, toolpolicy.PrimitiveResource, name)
		}
		return unknown("resource")
	}
}

// decidePrimitive asks vmcp.connectors whether the caller may read a resource or get a prompt
// (or subscribe, or complete one) of connector c; a refusal names the policy, as a tool's does.
func (e *edgeExchange) decidePrimitive(msg *jsonrpc.Message, c *connector, original, primitive, exposed string) (*connector, string, *extprocv3.ProcessingResponse) {
	d, err := e.state.tools.DecidePrimitive(context.Background(), toolpolicy.PrimitiveInput{
		Action: toolpolicy.ActionRead, Primitive: primitive, Scope: toolpolicy.NewScope(e.caller, e.vs.policy),
		Connector: c.name, Name: exposed,
	})
	e.event.PolicyRevision, e.event.DecisionID = e.state.tools.Revision(), d.ID
	if err == nil && d.Allow {
		e.event.Decision, e.event.Policy, e.event.Reason = "allow", toolpolicy.ConnectorsQuery, d.Reason
		return c, original, nil
	}
	reason := d.Reason
	if err != nil {
		// Fail closed: a policy that cannot decide denies.
		e.log.Error("extproc: connectors policy failed; denying", zap.String("vs", e.vs.name), zap.Error(err))
		reason = "the connectors policy could not decide"
	}
	e.event.Connector = c.name
	e.event.Decision, e.event.Policy, e.event.Reason = "deny", toolpolicy.ConnectorsQuery+" ("+e.state.tools.Source+")", reason
	what := strings.ReplaceAll(primitive, "_", " ")
	return nil, "", e.refuse(http.StatusOK, msg.ID, &jsonrpc.Error{
		Code:    jsonrpc.CodeForbidden,
		Message: fmt.Sprintf("%s %q denied by policy %s: %s", what, jsonrpc.Excerpt(exposed), toolpolicy.ConnectorsQuery, reason),
		Data:    mustJSON(map[string]string{"policy": toolpolicy.ConnectorsQuery, "source": e.state.tools.Source, "reason": reason}),
	}, audit.OutcomeDenied)
}

// index is the virtual server's current name index of tools or prompts; nil (and no error) when
// names are static.
func (e *edgeExchange) index(kind string) (*toolnames.Index, error) {
	if e.vs.names.Static() || e.catalog == nil {
		return nil, nil
	}
	ctx, cancel := e.placing()
	defer cancel()
	return e.catalog.Index(ctx, e.signed, e.subject, e.vs.name, kind)
}

// hasTool says whether the connector lists a tool of exactly this name; false without a catalog.
func (e *edgeExchange) hasTool(conn, original string) (bool, error) {
	if e.catalog == nil {
		return false, nil
	}
	ctx, cancel := e.placing()
	defer cancel()
	return e.catalog.HasTool(ctx, e.signed, e.subject, e.vs.name, conn, original)
}

// unavailable refuses a request vmcp could not place because the connectors' lists could not be
// read.
func (e *edgeExchange) unavailable(msg *jsonrpc.Message, err error) *extprocv3.ProcessingResponse {
	e.log.Warn("extproc: cannot place the request", zap.String("vs", e.vs.name), zap.Error(err))
	return e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInternalError, "the connectors of virtual server %q could not be listed", e.vs.name), audit.OutcomeUpstream)
}

// decideCall asks the vmcp.tools policy about one tool call; a refusal names the policy.
func (e *edgeExchange) decideCall(msg *jsonrpc.Message, c *connector, original, exposed string, args any) *extprocv3.ProcessingResponse {
	d, err := e.state.tools.Decide(context.Background(), toolpolicy.Input{
		Action: toolpolicy.ActionCall, Scope: toolpolicy.NewScope(e.caller, e.vs.policy),
		Connector: c.name, Tool: original, Exposed: exposed, Arguments: args,
	})
	e.event.PolicyRevision, e.event.DecisionID = e.state.tools.Revision(), d.ID
	if err == nil && d.Allow {
		e.event.Decision, e.event.Policy, e.event.Reason = "allow", toolpolicy.Query, d.Reason
		return nil
	}
	reason := d.Reason
	if err != nil {
		// Fail closed: a policy that cannot decide denies.
		e.log.Error("extproc: tool policy failed; denying", zap.String("vs", e.vs.name), zap.Error(err))
		reason = "the tool policy could not decide"
	}
	e.event.Decision, e.event.Policy, e.event.Reason = "deny", toolpolicy.Query+" ("+e.state.tools.Source+")", reason
	return e.refuse(http.StatusOK, msg.ID, &jsonrpc.Error{
		Code:    jsonrpc.CodeForbidden,
		Message: fmt.Sprintf("tool %q denied by policy %s: %s", exposed, toolpolicy.Query, reason),
		Data:    mustJSON(map[string]string{"policy": toolpolicy.Query, "source": e.state.tools.Source, "reason": reason}),
	}, audit.OutcomeDenied)
}

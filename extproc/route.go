package extproc

import (
	"encoding/json"
	"fmt"
	"net/http"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/revision"
	"github.com/vmcp-dev/vmcp/internal/routing"
)

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

// routedKind is how a routed request names its connector, for renameTarget.
type routedKind = routing.Kind

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
	case routing.ByResourceURI:
		params["uri"] = b
		return nil
	case routing.ByCompletionRef:
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

// decide asks the routing Table about req. Waits on the catalog end at the placing deadline,
// which the connector session placed next shares.
func (e *edgeExchange) decide(req routing.Request) routing.Decision {
	if e.catalog == nil {
		return e.state.routes.Decide(e.ctx, req, nil)
	}
	ctx, cancel := e.placing()
	defer cancel()
	return e.state.routes.Decide(ctx, req, e.catalog)
}

// decided turns a routing Decision into extproc's answer: the request on to the aggregator,
// rewritten for its connector, or refused; the decision goes into the audit record.
func (e *edgeExchange) decided(msg *jsonrpc.Message, req *routing.Request, d routing.Decision) *extprocv3.ProcessingResponse {
	if d.Target != "" {
		e.event.Target = d.Target
	}
	if d.Arguments != nil {
		e.event.Arguments = d.Arguments
	}
	if d.Connector != "" {
		e.event.Connector = d.Connector
	}
	a := d.Audit
	e.event.Decision, e.event.Policy, e.event.Reason = a.Decision, a.Policy, a.Reason
	e.event.PolicyRevision, e.event.DecisionID = a.PolicyRevision, a.DecisionID
	e.unwrapped = d.Unwrapped
	switch d.Action {
	case routing.Aggregate:
		return continueRequestBody()
	case routing.Refuse:
		if d.Cause != nil {
			if a.Outcome == audit.OutcomeUpstream {
				e.log.Warn("extproc: cannot place the request", zap.String("vs", e.vs.name), zap.Error(d.Cause))
			} else {
				e.log.Error("extproc: denying", zap.String("vs", e.vs.name), zap.Error(d.Cause))
			}
		}
		return e.refuse(http.StatusOK, msg.ID, d.Error, a.Outcome)
	}
	c := e.vs.connectors[d.Connector]
	if c == nil {
		// The routing Table and this state were compiled from one configuration: never.
		e.log.Error("extproc: routed to a connector extproc does not know", zap.String("vs", e.vs.name), zap.String("connector", d.Connector))
		return e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q is unavailable", d.Connector), audit.OutcomeError)
	}
	return e.forward(msg, c, req.Params, req.Kind, d.Target, d.Original)
}

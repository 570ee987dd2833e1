package tracing

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// Audited links an audit event and the span of the request it records: the event (and so its
// log line) gets the trace and span id, and a recording span gets the event's MCP attributes,
// the x-request-id and, for an authorization decision, the decision and its reason. One call,
// just before the event is recorded; with tracing off it does nothing. The event is redacted
// when it is recorded, after this: its target and reason go through audit.SafeText here, so
// that the span shows no more than the audit trail.
func (s Span) Audited(ev *audit.Event) {
	if s.s == nil {
		return
	}
	sc := s.s.SpanContext()
	ev.TraceID, ev.SpanID = sc.TraceID(), sc.SpanID()
	if !s.s.IsRecording() {
		return
	}
	kv := make([]attribute.KeyValue, 0, 12)
	str := func(k, v string) {
		if v != "" {
			kv = append(kv, attribute.String(k, v))
		}
	}
	if ev.RequestID != "" {
		kv = append(kv, RequestID(ev.RequestID))
	}
	if isMCPMethod(ev.Method) {
		str("mcp.method.name", ev.Method)
		switch ev.Method {
		case "tools/call":
			if ev.Target != "" {
				kv = append(kv, attribute.String("gen_ai.tool.name", audit.SafeText(ev.Target)),
					attribute.String("gen_ai.operation.name", "execute_tool"))
			}
		case "prompts/get":
			str("gen_ai.prompt.name", audit.SafeText(ev.Target))
		case "resources/read", "resources/subscribe", "resources/unsubscribe":
			str("mcp.resource.uri", audit.SafeText(ev.Target))
		}
	}
	str("vmcp.virtual_server", ev.VirtualServer)
	str("vmcp.connector", ev.Connector)
	if ev.Kind == audit.KindAuthz {
		str("vmcp.authz.decision", ev.Decision)
		str("vmcp.authz.reason", audit.SafeText(ev.Reason))
		str("vmcp.authz.policy", ev.Policy)
		str("vmcp.authz.decision_id", ev.DecisionID)
	} else {
		str("vmcp.outcome", ev.Outcome)
	}
	if ev.ErrorCode != 0 {
		kv = append(kv, attribute.String("rpc.response.status_code", strconv.Itoa(ev.ErrorCode)))
	}
	if ev.UpstreamStatus != 0 {
		kv = append(kv, attribute.Int("vmcp.upstream.status_code", ev.UpstreamStatus))
	}
	s.s.SetAttributes(kv...)
	s.User(ev.Subject)
	switch ev.Outcome {
	case audit.OutcomeError, audit.OutcomeUpstream:
		errType := ev.Outcome
		if ev.ErrorCode != 0 {
			// The MCP conventions: a JSON-RPC error's code is its error.type.
			errType = strconv.Itoa(ev.ErrorCode)
		}
		s.Fail(errType, audit.SafeText(ev.Reason))
	}
}

// Audited is Span.Audited for the span in ctx.
func Audited(ctx context.Context, ev *audit.Event) {
	if active.Load() == nil {
		return
	}
	FromContext(ctx).Audited(ev)
}

// MCPName is the span name the MCP conventions give a request: the method, then the tool,
// prompt or resource it is about, redacted as the audit trail redacts it.
func MCPName(method, target string) string {
	if target == "" {
		return method
	}
	return method + " " + audit.SafeText(target)
}

// isMCPMethod tells a JSON-RPC method from the HTTP method the aggregator records for a GET
// stream or a DELETE.
func isMCPMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if c := m[i]; c == '/' || c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

package metrics

import (
	"net/http"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// Other stands for any label value outside the bounded set: a method that is not MCP's, a tool
// vmcp does not know, a virtual server or connector the configuration does not name. Label
// values come from what clients send, and one series per made-up name would let any client grow
// Prometheus without bound.
const Other = "other"

// Outcome label values of vmcp_requests_total and vmcp_connector_requests_total.
const (
	OutcomeOK              = "ok"
	OutcomeToolError       = "tool_error"
	OutcomeJSONRPCError    = "jsonrpc_error"
	OutcomeDenied          = "denied"
	OutcomeUnauthenticated = "unauthenticated"
	OutcomeConnectorDown   = "connector_down"
	OutcomeAbandoned       = "abandoned"
	OutcomeUnknown         = "unknown"
)

// mcpMethods are the method label's values besides Other: MCP's client-to-server requests and
// notifications of every revision vmcp serves, and the HTTP methods that stand for a GET stream
// and a session's end in the audit trail.
var mcpMethods = func() map[string]string {
	m := map[string]string{}
	for _, name := range []string{
		"initialize", "ping", "server/discover", "subscriptions/listen",
		"tools/list", "tools/call",
		"prompts/list", "prompts/get",
		"resources/list", "resources/templates/list", "resources/read",
		"resources/subscribe", "resources/unsubscribe",
		"completion/complete", "logging/setLevel",
		"tasks/get", "tasks/result", "tasks/list", "tasks/cancel",
		"notifications/initialized", "notifications/cancelled", "notifications/progress",
		"notifications/roots/list_changed",
		http.MethodGet, http.MethodDelete,
	} {
		m[name] = name
	}
	return m
}()

// Method bounds an audit event's method to the label's values. The value returned is the
// set's own string, so that a label never keeps a request's buffer alive.
func Method(m string) string {
	if m == "" {
		return ""
	}
	if v, ok := mcpMethods[m]; ok {
		return v
	}
	return Other
}

// Outcome maps an audit event's outcome (and an authz decision) to the outcome label.
func Outcome(ev *audit.Event) string {
	switch ev.Outcome {
	case audit.OutcomeOK:
		return OutcomeOK
	case audit.OutcomeToolError:
		return OutcomeToolError
	case audit.OutcomeError:
		return OutcomeJSONRPCError
	case audit.OutcomeDenied:
		// A request without a (valid) token is how every OAuth client starts: told apart from
		// a refusal of someone signed in, so that a denial alert does not fire on sign-ins.
		if ev.Kind == audit.KindAuthz && ev.Decision == "unauthenticated" {
			return OutcomeUnauthenticated
		}
		return OutcomeDenied
	case audit.OutcomeUpstream:
		return OutcomeConnectorDown
	case audit.OutcomeAbandoned:
		return OutcomeAbandoned
	case audit.OutcomeUnknown:
		return OutcomeUnknown
	}
	return Other
}

// streaming methods hold a response open for as long as the client listens: how long that is
// says nothing about vmcp's latency, so they are counted but not timed.
func streaming(method string) bool {
	return method == http.MethodGet || method == "subscriptions/listen"
}

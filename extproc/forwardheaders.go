package extproc

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/vmcp-dev/vmcp/internal/headers"
)

// forwardedToConnectors are the request headers a connector may see besides the ones vmcp sets
// (its credential, its session id, the routing tag the route strips): what MCP's Streamable HTTP
// transport and trace propagation need, and the body's own framing. Everything else a client
// sent stays at the edge: cookies for vmcp's console or another site on the same host,
// Proxy-Authorization, Origin and Referer, X-Forwarded-For (the user's address), and whatever
// a future client invents. A connector is a third party; it gets what it needs to answer.
var forwardedToConnectors = map[string]bool{
	"content-type":   true,
	"content-length": true,
	// Body framing; Envoy normalises it, but a chunked body must stay described.
	"transfer-encoding": true,
	"accept":            true,
	"user-agent":        true,
	// Envoy's id for the request, also in vmcp's audit record: lets an operator match a
	// connector's log line to the audit trail.
	"x-request-id": true,
	// Envoy matches the route again after extproc has named the connector, and without this
	// header it finds none (404). It says only http or https.
	"x-forwarded-proto":     true,
	headers.SessionID:       true,
	headers.ProtocolVersion: true,
	headers.Method:          true,
	headers.Name:            true,
	"last-event-id":         true,
	// W3C Trace Context.
	"traceparent": true,
	"tracestate":  true,
}

// withoutUnforwarded adds to remove the request's headers that must not reach a connector: those
// not on the allow-list and not set by vmcp in this same mutation. Pseudo-headers (:path,
// :authority) and x-envoy-* are Envoy's own, which ext_proc's default mutation rules do not let
// it change. Internal x-vmcp-* headers are removed by the connector routes, after routing has
// used them.
func withoutUnforwarded(req []*corev3.HeaderValue, set []*corev3.HeaderValueOption, remove []string) []string {
	skip := make(map[string]bool, len(set)+len(remove))
	for _, s := range set {
		skip[strings.ToLower(s.GetHeader().GetKey())] = true
	}
	for _, r := range remove {
		skip[strings.ToLower(r)] = true
	}
	for _, h := range req {
		k := strings.ToLower(h.GetKey())
		if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "x-envoy-") || headers.IsInternal(k) || forwardedToConnectors[k] || skip[k] {
			continue
		}
		skip[k] = true
		remove = append(remove, k)
	}
	return remove
}

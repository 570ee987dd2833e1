package headers

import "strings"

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
	"x-forwarded-proto": true,
	SessionID:           true,
	ProtocolVersion:     true,
	Method:              true,
	Name:                true,
	"last-event-id":     true,
	// W3C Trace Context.
	"traceparent": true,
	"tracestate":  true,
}

// EncodeList joins header names and values (name, value, name, value…) into one string, which
// DecodeList splits again: NUL never occurs in a header name or value.
func EncodeList(nameValues []string) string { return strings.Join(nameValues, "\x00") }

// DecodeList calls f for each name and value EncodeList joined.
func DecodeList(s string, f func(name, value string)) {
	for s != "" {
		name, rest, _ := strings.Cut(s, "\x00")
		value, rest2, _ := strings.Cut(rest, "\x00")
		f(name, value)
		s = rest2
	}
}

// ForwardedToConnector reports whether a client's request header (lower case) may reach a
// connector: extproc removes the others on the general route, authz on a connector's plain
// route (where extproc cannot remove headers).
func ForwardedToConnector(name string) bool { return forwardedToConnectors[name] }

// Unforwarded reports whether a client's request header (lower case) must be removed before the
// request reaches a connector: not on the allow-list, and not Envoy's own (pseudo-headers,
// x-envoy-*) or vmcp's internal ones, which the connector routes remove themselves.
func Unforwarded(name string) bool {
	return !strings.HasPrefix(name, ":") && !strings.HasPrefix(name, "x-envoy-") && !IsInternal(name) && !forwardedToConnectors[name]
}

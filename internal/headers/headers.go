// Package headers names the HTTP headers vmcp's components pass to each other through Envoy, and
// reads the one standard header every component checks: a bearer Authorization.
//
// Every internal header starts with Prefix. Envoy's ext_authz answer removes any header with that
// prefix that a client sent, so none of them can be forged from outside.
package headers

import "strings"

// Prefix starts every vmcp-internal header name.
const Prefix = "x-vmcp-"

const (
	// Connector names the connector a request is routed to. extproc sets it on the edge after
	// choosing the connector from the tool name; the aggregator sets it on egress requests. The
	// xDS routes match on it.
	Connector = "x-vmcp-connector"
	// RouteHint names the connector authz expects a tools/call to go to, from its body; the
	// connector's plain route matches on it (authz/hint.go). extproc still decides.
	RouteHint = "x-vmcp-route-hint"
	// DirectAnswer, set by authz beside RouteHint, picks the connector's direct route instead of
	// its plain one: the connector speaks the client's revision (2026-07-28), so its answer needs
	// no rewriting and goes back to the client without extproc (envoynames.DirectRouteSuffix).
	DirectAnswer = "x-vmcp-direct-answer"
	// Identity carries the caller's verified identity, signed by authz, to the aggregator and
	// through the egress listener back to extproc.
	Identity = "x-vmcp-identity"
	// Decision carries authz's decision on a request it allowed (audit.Handoff) to what records
	// the request itself, extproc or the aggregator, whose audit event replaces authz's. Set by
	// ext_authz over anything the client sent; the connector routes remove it.
	Decision = "x-vmcp-decision"
	// RPCMethod names the JSON-RPC method of an aggregator request on egress, for its audit
	// record (extproc reads no bodies there); extproc removes it before the connector.
	RPCMethod = "x-vmcp-rpc-method"
	// Listener tells extproc, in its gRPC stream metadata, which Envoy listener is calling.
	Listener = "x-vmcp-listener"
	// SubjectTokenMetadata is the ext_authz dynamic metadata field that carries the caller's own
	// access token, from a trusted issuer, to extproc for RFC 8693 token exchange. Dynamic
	// metadata stays inside Envoy and its filters: it never reaches a connector, and no access
	// log format of ours prints it.
	SubjectTokenMetadata = "subject_token"
	// RequestHeadersMetadata is the ext_authz dynamic metadata field that carries, on a
	// connector's plain route, the request headers extproc reads (it gets no headers message
	// there): a list of names and values (EncodeList).
	RequestHeadersMetadata = "request_headers"

	// MCP headers (Streamable HTTP transport).
	SessionID       = "mcp-session-id"
	ProtocolVersion = "mcp-protocol-version"
	// Method and Name mirror a 2026-07-28 request's method and target (tool or prompt name,
	// resource URI) so that proxies can route without reading the body.
	Method        = "mcp-method"
	Name          = "mcp-name"
	Authorization = "authorization"
)

// IsInternal reports whether name is a vmcp-internal header (case-insensitive).
func IsInternal(name string) bool {
	return len(name) >= len(Prefix) && strings.EqualFold(name[:len(Prefix)], Prefix)
}

// BearerToken extracts the token of an "Authorization: Bearer …" value: the scheme is
// case-insensitive (RFC 9110 §11.1, RFC 6750 §2.1), the token is taken as it is, without the
// white space around it.
func BearerToken(value string) (string, bool) {
	scheme, tok, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

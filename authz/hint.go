package authz

import (
	"net/http"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/vmcp-dev/vmcp/internal/headers"
)

// routeHint names the connector a tools/call goes to, read from the Mcp-Method and Mcp-Name
// headers that mirror the body (MCP 2026-07-28 clients send them on every request), so that the
// request takes that connector's plain route: there extproc sees only the body (one message
// instead of the headers, then the body) and the route is chosen before ext_proc starts, so the
// route's own processing mode holds.
//
// The hint decides nothing: extproc checks the headers against the body, places the call itself
// (policy, the connector's tools, sessions) and refuses it if its answer is not the hinted
// connector. A request without a hint takes the virtual server's general route. Only names that
// map to a connector by configuration alone (the prefix is always there) are hinted.
//
// The headers, not the body: reading the body would make Envoy hold every request until its
// body arrived before asking authz, and a body that never finishes would then time out before
// vmcp knew who sent it.
func (vs *virtualServer) routeHint(r *authv3.AttributeContext_HttpRequest) string {
	hs := r.GetHeaders()
	if vs.names == nil || r.GetMethod() != http.MethodPost || hs[headers.Method] != "tools/call" {
		return ""
	}
	connector, _, ok := vs.names.Resolve(hs[headers.Name], nil)
	if !ok {
		return ""
	}
	return connector
}

package authz

import (
	"net/http"
	"strconv"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/revision"
)

// ConnectorRevisions says what vmcp has learned of a connector's MCP revisions; the aggregator
// implements it (it asks each connector once).
type ConnectorRevisions interface {
	// SpeaksModern says whether connector, on virtual server vs, is known to serve 2026-07-28
	// requests; false when that is not known yet. It is called on every hinted Check, so it
	// must be cheap and must not ask the connector.
	SpeaksModern(vs, connector string) bool
}

// SetConnectorRevisions tells authz which connectors speak 2026-07-28, for direct answers
// (routeHint). Without it every hinted call takes its connector's plain route.
func (s *Server) SetConnectorRevisions(r ConnectorRevisions) { s.revisions = r }

// hint is the route authz picks for a request: a connector's plain route (connector set), its
// direct route (direct too), or the virtual server's general route (zero).
type hint struct {
	connector string
	direct    bool
}

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
//
// A 2026-07-28 call to a connector known to speak 2026-07-28 takes the connector's direct route
// instead: the answer needs no translation, no session id and no reply ids, so Envoy hands it to
// the client itself and extproc sees nothing after the body (envoynames.DirectRouteSuffix).
func (s *Server) routeHint(vs *virtualServer, r *authv3.AttributeContext_HttpRequest) hint {
	hs := r.GetHeaders()
	if vs.names == nil || r.GetMethod() != http.MethodPost || hs[headers.Method] != "tools/call" {
		return hint{}
	}
	if n, err := strconv.ParseInt(hs["content-length"], 10, 64); err == nil && n > vs.maxBody {
		// Too large: the general route, where extproc refuses it with 413 from its headers
		// before Envoy buffers any of it. A plain route sends extproc no headers, so Envoy
		// would buffer the body first, and one still uploading when the buffer filled waited
		// for the request timeout (408) instead.
		return hint{}
	}
	connector, _, ok := vs.names.Resolve(hs[headers.Name], nil)
	if !ok {
		return hint{}
	}
	direct := hs[headers.ProtocolVersion] == revision.Modern20260728 && s.revisions != nil && s.revisions.SpeaksModern(vs.name, connector)
	return hint{connector: connector, direct: direct}
}

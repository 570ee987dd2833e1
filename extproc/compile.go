// Package extproc is vmcp's Envoy ext_proc service. On the edge listener it reads each MCP
// JSON-RPC request, has internal/routing decide which connector a tool call, prompt, resource or
// completion is for (or refuse it), rewrites the request for that connector (original name, the
// connector's own session id and credential, the routing header) and lets Envoy route it;
// everything else goes on to the aggregator untouched. On the egress listener it attaches the
// connector's credential to the aggregator's fan-out requests.
package extproc

import (
	"fmt"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/routing"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
)

// rewrites is what extproc rewrites requests by — each virtual server's connectors, their
// credentials and plain-route headers, and the routing Table that places a request — compiled
// from one configuration and swapped atomically on reload.
type rewrites struct {
	byPath map[string]*virtualServer
	// byName finds the virtual server an egress request's signed identity names.
	byName     map[string]*virtualServer
	connectors map[string]*connector
	// routes decides what an edge request is for; the aggregator was handed the same Table.
	routes *routing.Table
	// maxBody is server.max_request_bytes. Envoy's buffer limit lets the chunk that crosses it
	// through, so a body a little over it can still arrive here whole.
	maxBody int
}

type virtualServer struct {
	name string
	// route is the virtual server in the routing Table, which decides its requests.
	route      *routing.VirtualServer
	connectors map[string]*connector
	// names are route's tool names, at hand for building a catalog of this virtual server.
	names *toolnames.Map
}

type connector struct {
	name       string
	credential []credential.Header
	// query is the credential carried as a URL query parameter, when that is its type.
	query *credential.Header
	// perUser: the credential is the calling user's own (oauth, token_exchange,
	// identity_assertion), resolved per call.
	perUser bool
	// callTimeout is the connector's call timeout, its routes' timeout.
	callTimeout time.Duration
	// plainHeaders are the headers the connector's plain route sets from extproc's metadata
	// (envoynames.PlainRouteHeaders); nil when it has none.
	plainHeaders map[string]bool
}

// compile compiles cfg with routes, the routing Table compiled from the same cfg.
func compile(cfg *config.Config, routes *routing.Table) (*rewrites, error) {
	c := &rewrites{
		byPath:     make(map[string]*virtualServer, len(cfg.VirtualServers)),
		byName:     make(map[string]*virtualServer, len(cfg.VirtualServers)),
		connectors: make(map[string]*connector, len(cfg.Connectors)),
		routes:     routes,
		maxBody:    cfg.Server.MaxRequestBytes,
	}
	for _, conn := range cfg.Connectors {
		hs, err := credential.Headers(conn.Credential)
		if err != nil {
			return nil, fmt.Errorf("connector %q: %w", conn.Name, err)
		}
		cn := &connector{name: conn.Name, credential: hs, perUser: conn.Credential.Type.PerUser(), callTimeout: conn.CallTimeout}
		for _, h := range envoynames.PlainRouteHeaders(&conn) {
			if cn.plainHeaders == nil {
				cn.plainHeaders = map[string]bool{}
			}
			cn.plainHeaders[h] = true
		}
		if q, ok, err := credential.QueryParam(conn.Credential); err != nil {
			return nil, fmt.Errorf("connector %q: %w", conn.Name, err)
		} else if ok {
			cn.query = &q
		}
		c.connectors[conn.Name] = cn
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		route := routes.ByName(vs.Name)
		if route == nil {
			return nil, fmt.Errorf("virtual server %q is not in the routing table", vs.Name)
		}
		v := &virtualServer{name: vs.Name, route: route, connectors: map[string]*connector{}, names: route.Names()}
		for _, ref := range vs.Connectors {
			v.connectors[ref.Name] = c.connectors[ref.Name]
		}
		c.byPath[vs.Path] = v
		c.byName[vs.Name] = v
	}
	return c, nil
}

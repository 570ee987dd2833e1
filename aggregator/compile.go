// Package aggregator is the virtual MCP server's own endpoint for everything that is not routed
// straight to one connector: initialize, the */list methods, ping, session teardown. It fans each
// out to the virtual server's connectors in parallel, through Envoy's egress listener, and merges
// the answers.
package aggregator

import (
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/routing"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

// catalog is what the aggregator serves from one configuration, swapped atomically on reload:
// the virtual servers with their connectors, the tool policy, and the caches of connectors'
// lists and search indexes that a reload starts afresh.
type catalog struct {
	byPath map[string]*virtualServer
	byName map[string]*virtualServer
	tools  *toolpolicy.Policy
	// lists caches connectors' lists; a reload starts a new, empty one.
	lists *listCache
	// maxBody bounds a client request (server.max_request_bytes).
	maxBody int
	// indexes caches tool search indexes per view (discovery.go).
	indexes *indexCache
}

type virtualServer struct {
	name       string
	separator  string
	connectors []*connector
	names      *toolnames.Map
	prompts    *toolnames.Map
	policy     toolpolicy.VirtualServer
	// index and promptIndex cache the names of prefix modes other than always.
	index       indexHolder
	promptIndex indexHolder
	discovery   config.ToolDiscovery
	pinned      map[string]bool
	// resourceMode is the prefix mode resource URIs shared by connectors follow (resources.go).
	resourceMode config.PrefixMode
}

type connector struct {
	name    string
	path    string
	timeout time.Duration
	// revision is what vmcp learned of the connector's MCP revisions (revisionUnknown until
	// asked); a reload asks again.
	revision atomic.Int32
	health   health
}

// compile compiles cfg with routes, the routing Table compiled from the same cfg: the tool
// names and policy the lists are made with are the ones extproc routes calls by.
func compile(cfg *config.Config, routes *routing.Table) (*catalog, error) {
	conns := map[string]*connector{}
	for _, c := range cfg.Connectors {
		u, _ := url.Parse(c.URL) // validated at load
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		conns[c.Name] = &connector{name: c.Name, path: path, timeout: c.Timeout}
	}
	catalog := &catalog{maxBody: cfg.Server.MaxRequestBytes, byPath: map[string]*virtualServer{}, byName: map[string]*virtualServer{}, tools: routes.Policy(), lists: &listCache{}, indexes: &indexCache{}}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		route := routes.ByName(vs.Name)
		if route == nil {
			return nil, fmt.Errorf("virtual server %q is not in the routing table", vs.Name)
		}
		v := &virtualServer{name: vs.Name, separator: vs.Prefix.Separator, names: route.Names(), prompts: route.Prompts(), policy: route.Policy()}
		for _, ref := range vs.Connectors {
			v.connectors = append(v.connectors, conns[ref.Name])
		}
		v.discovery, v.pinned, v.resourceMode = vs.Tools, map[string]bool{}, vs.Prefix.Mode
		for _, name := range vs.Tools.Pinned {
			v.pinned[name] = true
		}
		catalog.byPath[vs.Path] = v
		catalog.byName[vs.Name] = v
	}
	return catalog, nil
}

package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/routing"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
)

// indexEntry is a virtual server's tool-name index for one generation of the list cache.
type indexEntry struct {
	gen     uint64
	built   time.Time
	idx     *toolnames.Index
	partial bool // a connector was missing: rebuild on the next fan-out
}

// indexHolder caches a virtual server's name index, for prefix modes other than always, where
// a tool's name depends on every connector's list (docs/design.md, "Lessons": keep a name →
// connector index instead of asking every connector on each call).
type indexHolder struct{ p atomic.Pointer[indexEntry] }

// indexOf returns the name index for the tools or prompts (kind) a fan-out found; nil when
// names are static.
func (s *Server) indexOf(req *request, outcomes []outcome, kind string) *toolnames.Index {
	names, holder := req.vs.names, &req.vs.index
	if kind == "prompts" {
		names, holder = req.vs.prompts, &req.vs.promptIndex
	}
	if names.Static() {
		return nil
	}
	gen := req.catalog.lists.generation()
	if e := holder.p.Load(); e != nil && e.gen == gen && !e.partial && time.Since(e.built) < listCacheTTL {
		return e.idx
	}
	lists := make(map[string][]string, len(outcomes))
	partial := false
	for _, o := range outcomes {
		if o.err != nil {
			partial = true
			continue
		}
		for _, item := range o.value.([]map[string]json.RawMessage) {
			var name string
			if json.Unmarshal(item["name"], &name) == nil {
				lists[o.connector.name] = append(lists[o.connector.name], name)
			}
		}
	}
	idx := names.Index(lists)
	for _, c := range idx.Conflicts {
		s.log.Warn("aggregator: left out: another connector has one of the same name (prefix mode never)",
			zap.String("vs", req.vs.name), zap.String("connector", c.Connector), zap.String(kind, c.Original))
	}
	holder.p.Store(&indexEntry{gen: gen, built: time.Now(), idx: idx, partial: partial})
	return idx
}

// The aggregator's lists are what routing asks of connectors (extproc's catalog).
var _ routing.Catalog = (*Server)(nil)

// Index returns the current name index of a virtual server's tools or prompts (kind) when its
// prefix mode is not always, listing the connectors on the caller's behalf when nothing is
// cached. extproc uses it to route a call by a name without a prefix.
func (s *Server) Index(ctx context.Context, signedIdentity, subject, vs, kind string) (*toolnames.Index, error) {
	req, err := s.requestFor(signedIdentity, subject, vs)
	if err != nil {
		return nil, err
	}
	method := "tools/list"
	if kind == "prompts" {
		method = "prompts/list"
	}
	return s.indexOf(req, s.listEverywhere(ctx, req, method, kind), kind), nil
}

// HasTool says whether connector lists a tool named exactly original on virtual server vs: from
// the list cache (a map lookup) when it holds the connector's list, else by asking the connector
// for it on the caller's behalf. An error means the list could not be read. extproc asks before
// routing a call, so that a name no connector lists gets "unknown tool" rather than reaching one.
func (s *Server) HasTool(ctx context.Context, signedIdentity, subject, vs, connectorName, original string) (bool, error) {
	req, err := s.requestFor(signedIdentity, subject, vs)
	if err != nil {
		return false, err
	}
	if found, cached := req.catalog.lists.has(connectorName, "tools/list", original, time.Now()); cached {
		return found, nil
	}
	i := slices.IndexFunc(req.vs.connectors, func(c *connector) bool { return c.name == connectorName })
	if i < 0 {
		return false, nil
	}
	c := req.vs.connectors[i]
	items, err := s.listOne(ctx, req, c, "tools/list", "tools")
	if err != nil {
		return false, fmt.Errorf("connector %q: tools/list: %w", connectorName, err)
	}
	for _, item := range items {
		if n, ok := rawString(item["name"]); ok && n == original {
			return true, nil
		}
	}
	return false, nil
}

// requestFor is a request on behalf of a caller that extproc has already let through.
func (s *Server) requestFor(signedIdentity, subject, vs string) (*request, error) {
	catalog := s.state.Load()
	if catalog == nil {
		return nil, fmt.Errorf("not configured")
	}
	v := catalog.byName[vs]
	if v == nil {
		return nil, fmt.Errorf("no virtual server %q", vs)
	}
	return &request{vs: v, catalog: catalog, caller: identity.Identity{Subject: subject, VirtualServer: vs}, signed: signedIdentity}, nil
}

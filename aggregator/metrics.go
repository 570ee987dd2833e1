package aggregator

import (
	"time"

	"github.com/vmcp-dev/vmcp/internal/toolnames"
)

// What the aggregator knows that vmcp's metrics report (internal/metrics); read when Prometheus
// scrapes, or once per recorded tools/call for KnownTool.

// KnownTool says whether tool is a name virtual server vs shows its clients, going only by the
// tool lists already cached (an expired list still counts: it names what the connector had). It
// never asks a connector.
func (s *Server) KnownTool(vs, tool string) bool {
	catalog := s.state.Load()
	if catalog == nil {
		return false
	}
	v := catalog.byName[vs]
	if v == nil {
		return false
	}
	var idx *toolnames.Index
	if !v.names.Static() {
		e := v.index.p.Load()
		if e == nil {
			return false
		}
		idx = e.idx
	}
	conn, original, ok := v.names.Resolve(tool, idx)
	return ok && catalog.lists.listed(conn, "tools/list", original)
}

// KeptSessions counts the unexpired connector sessions kept for session-less clients.
func (s *Server) KeptSessions() int {
	now := time.Now()
	s.kept.mu.Lock()
	defer s.kept.mu.Unlock()
	n := 0
	for _, e := range s.kept.m {
		if now.Before(e.expires) {
			n++
		}
	}
	return n
}

// OpenStreams counts the notification streams clients hold open.
func (s *Server) OpenStreams() int {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return len(s.hub.subs)
}

// ConnectorHealth calls f for every configured connector, of a virtual server, once, with whether its latest request
// succeeded.
func (s *Server) ConnectorHealth(f func(connector string, up bool)) {
	catalog := s.state.Load()
	if catalog == nil {
		return
	}
	seen := map[string]bool{}
	for _, vs := range catalog.byName {
		for _, c := range vs.connectors {
			if !seen[c.name] {
				seen[c.name] = true
				f(c.name, !c.health.failing())
			}
		}
	}
}

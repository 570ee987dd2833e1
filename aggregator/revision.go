package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/revision"
)

// supportedVersions are the MCP revisions that use initialize, newest first.
var supportedVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}

// discoverVersions are every revision vmcp speaks, newest first, as server/discover lists them.
var discoverVersions = append([]string{revision.Modern20260728}, supportedVersions...)

// codeUnsupportedProtocolVersion is 2026-07-28's error for a revision the server does not speak;
// its data lists the ones it does.
const codeUnsupportedProtocolVersion = -32022

func negotiate(requested string) string {
	if slices.Contains(supportedVersions, requested) {
		return requested
	}
	return supportedVersions[0]
}

// unsupportedVersion answers a request in a modern revision vmcp does not speak.
func unsupportedVersion(w http.ResponseWriter, id json.RawMessage, requested string) {
	data, _ := json.Marshal(map[string]any{"supported": discoverVersions, "requested": requested})
	writeError(w, http.StatusBadRequest, id, &jsonrpc.Error{Code: codeUnsupportedProtocolVersion, Message: "unsupported protocol version " + jsonrpc.Excerpt(requested), Data: data})
}

// cacheHints are 2026-07-28's caching fields of a list or discover result. Every list vmcp
// answers is filtered for its caller, so it is private to that caller's authorization context.
func cacheHints(result map[string]any) map[string]any {
	result["ttlMs"] = listCacheTTL.Milliseconds()
	result["cacheScope"] = "private"
	result["resultType"] = "complete"
	return result
}

// What vmcp knows of a connector's revisions.
const (
	revisionUnknown int32 = iota
	revisionModern        // answers server/discover with 2026-07-28
	revisionLegacy        // initialize only
)

// speaksModern says whether connector c serves 2026-07-28 requests, asking it with
// server/discover the first time (docs/design.md, "Lessons": speak each connector's own revision,
// learned from its answers). A connector that cannot be reached is asked again next time.
func (s *Server) speaksModern(ctx context.Context, c *connector, signedIdentity string) bool {
	switch c.revision.Load() {
	case revisionModern:
		return true
	case revisionLegacy:
		return false
	}
	res, err := s.up.do(ctx, call{connector: c, identity: signedIdentity, protocolVersion: revision.Modern20260728, method: "server/discover",
		params: map[string]any{"_meta": map[string]any{
			revision.MetaKeyProtocolVersion:              revision.Modern20260728,
			"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "vmcp", "version": s.version},
			"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		}}})
	var d struct {
		SupportedVersions []string `json:"supportedVersions"`
	}
	modern := err == nil && json.Unmarshal(res.result, &d) == nil && slices.Contains(d.SupportedVersions, revision.Modern20260728)
	var status *statusError
	switch {
	case refusedCaller(err):
		// Not an answer to discover: learn the revision from a caller who may call.
	case modern:
		c.revision.Store(revisionModern)
	case err == nil || !errors.Is(err, errUpstream):
		// An answer (a JSON-RPC error included) that is not a modern discover: legacy.
		c.revision.Store(revisionLegacy)
	case errors.As(err, &status) && status.status/100 == 4:
		// 400, 404, 405 to a discover: a server of the 2025 revisions.
		c.revision.Store(revisionLegacy)
	}
	return modern
}

// SpeaksModern says whether connector, on virtual server vs, is known to serve 2026-07-28
// requests, from what speaksModern learned; it never asks the connector (authz calls it on every
// hinted Check).
func (s *Server) SpeaksModern(vs, connector string) bool {
	v := s.virtualServerNamed(vs)
	if v == nil {
		return false
	}
	for _, c := range v.connectors {
		if c.name == connector {
			return c.revision.Load() == revisionModern
		}
	}
	return false
}

// virtualServerNamed is virtual server vs of the configuration in force, or nil.
func (s *Server) virtualServerNamed(vs string) *virtualServer {
	if catalog := s.state.Load(); catalog != nil {
		return catalog.byName[vs]
	}
	return nil
}

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func errorCode(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

// TestTheRevisionsRulesAreEnforcedAtTheEdge checks, with raw HTTP through Envoy, the rules a
// library client would never break: 2026-07-28 requests whose Mcp-Method or Mcp-Name header
// disagrees with the body (a way to make a proxy route one thing while the connector runs
// another), a revision vmcp does not speak, forged cursors, and bodies over the size limit.
func TestTheRevisionsRulesAreEnforcedAtTheEdge(t *testing.T) {
	s := startSystem(t)
	token := s.token("alice", "demo")
	url := s.url("demo")
	call := modernRequest("tools/call", map[string]any{"name": "weather__get_forecast", "arguments": map[string]any{"city": "Oslo"}})

	status, m := rawPost(t, url, token, call, modernHeaders("tools/call", "weather__get_forecast"))
	if status != http.StatusOK || m["result"] == nil {
		t.Fatalf("a consistent 2026-07-28 tools/call: HTTP %d %v", status, m)
	}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"Mcp-Name names another tool", modernHeaders("tools/call", "notes__add_note")},
		{"Mcp-Method names another method", modernHeaders("tools/list", "weather__get_forecast")},
		{"Mcp-Name missing", modernHeaders("tools/call", "")},
		{"Mcp-Method missing", map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Name": "weather__get_forecast"}},
		{"MCP-Protocol-Version disagrees with _meta", map[string]string{"MCP-Protocol-Version": "2026-08-01", "Mcp-Method": "tools/call", "Mcp-Name": "weather__get_forecast"}},
	} {
		status, m := rawPost(t, url, token, call, tc.hdr)
		if status != http.StatusBadRequest || errorCode(m) != -32020 {
			t.Errorf("%s: HTTP %d %v, want 400 and -32020", tc.name, status, m)
		}
	}

	// server/discover lists every revision, and lists carry private cache hints.
	_, m = rawPost(t, url, token, modernRequest("server/discover", nil), modernHeaders("server/discover", ""))
	res, _ := m["result"].(map[string]any)
	if vs, _ := res["supportedVersions"].([]any); len(vs) < 4 || vs[0] != "2026-07-28" {
		t.Errorf("server/discover: %v", m)
	}
	_, m = rawPost(t, url, token, modernRequest("tools/list", nil), modernHeaders("tools/list", ""))
	if res, _ := m["result"].(map[string]any); res["cacheScope"] != "private" || res["ttlMs"] == nil {
		t.Errorf("2026-07-28 tools/list without private cache hints: %v", m)
	}

	// A revision from the future gets -32022 with the supported list.
	future, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2099-01-01"}}})
	if _, m := rawPost(t, url, token, future, map[string]string{"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"}); errorCode(m) != -32022 {
		t.Errorf("an unknown revision: %v, want -32022", m)
	}

	// Cursors are vmcp's own: a made-up one is invalid params.
	forged, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": map[string]any{"cursor": "connector-cursor-1"}})
	if _, m := rawPost(t, url, token, forged, map[string]string{"MCP-Protocol-Version": "2025-11-25"}); errorCode(m) != -32602 {
		t.Errorf("a forged cursor: %v, want -32602", m)
	}

	// A body over server.max_request_bytes (4 MiB by default) is refused by Envoy before
	// anything parses it.
	huge := modernRequest("tools/call", map[string]any{"name": "weather__get_forecast", "arguments": map[string]any{"city": strings.Repeat("x", 5<<20)}})
	if status, _ := rawPost(t, url, token, huge, modernHeaders("tools/call", "weather__get_forecast")); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 5 MiB body: HTTP %d, want 413", status)
	}
}

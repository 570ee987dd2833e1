package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
)

func TestEachVirtualServerHasItsOwnProtectedResourceMetadata(t *testing.T) {
	cfg, err := config.Load("t.yaml", []byte(`
server: {public_url: "https://mcp.example.com"}
connectors: [{name: a, url: "http://127.0.0.1:1/mcp"}]
virtual_servers:
  - {name: eng, connectors: [a]}
  - {name: sales, connectors: [a]}
`))
	if err != nil {
		t.Fatal(err)
	}
	var m Metadata
	commit, err := m.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	for _, tc := range []struct{ path, resource string }{
		{"/.well-known/oauth-protected-resource/v/eng/mcp", "https://mcp.example.com/v/eng/mcp"},
		{"/.well-known/oauth-protected-resource/v/sales/mcp", "https://mcp.example.com/v/sales/mcp"},
	} {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d", tc.path, rec.Code)
		}
		var doc ProtectedResource
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Resource != tc.resource || len(doc.AuthorizationServers) != 1 || doc.AuthorizationServers[0] != "https://mcp.example.com" {
			t.Errorf("%s: %+v", tc.path, doc)
		}
	}
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource", nil))
	if rec.Code != 404 {
		t.Errorf("with two virtual servers the bare well-known URL must not pick one; got %d", rec.Code)
	}
}

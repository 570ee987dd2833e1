package e2e

import (
	"net/http"
	"testing"
)

// MCP 2026-07-28 (SEP-2243): Envoy may route, limit and authorize on the Mcp-Method and Mcp-Name
// headers while the connector executes the body, so a request whose headers and body disagree is
// a confused-deputy attack: it is refused with HTTP 400 and JSON-RPC -32020 (HeaderMismatch),
// before any connector sees it. (An Mcp-Name on a method that names nothing, such as tools/list,
// is let through: vmcp neither routes nor decides on it there.)
func TestMcpMethodAndNameHeadersThatDisagreeWithTheBodyAreRefused(t *testing.T) {
	s := startSystem(t)
	token := s.token("mallory", "demo")
	call := callBody("notes__add_note")
	tests := []struct {
		name    string
		body    string
		headers map[string]string
	}{
		{"Mcp-Method names another method", call, map[string]string{"Mcp-Method": "tools/list", "Mcp-Name": "notes__add_note"}},
		{"Mcp-Name names another tool", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "weather__get_forecast"}},
		{"Mcp-Name differs only in case", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "notes__ADD_NOTE"}},
		{"Mcp-Method missing on a tools/call", call, map[string]string{"Mcp-Name": "notes__add_note"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdrs := map[string]string{"MCP-Protocol-Version": "2026-07-28"}
			for k, v := range tc.headers {
				hdrs[k] = v
			}
			status, _, body := rawRPC(t, s.url("demo"), token, tc.body, hdrs)
			if code, msg := rpcErrorOf(body); status != http.StatusBadRequest || code != -32020 {
				t.Errorf("HTTP %d, error %d %q: %s; want 400 with -32020", status, code, msg, body)
			}
		})
	}
	// Headers that agree with the body are served.
	status, _, body := rawRPC(t, s.url("demo"), token, callBody("weather__get_forecast"),
		modernHeaders("tools/call", "weather__get_forecast"))
	if code, _ := rpcErrorOf(body); status != 200 || code != 0 {
		t.Errorf("matching headers: HTTP %d %s", status, body)
	}
}

package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// A connector is a third party: of the client's headers it sees only what MCP needs (and trace
// context), never the client's cookies, proxy credentials or address, on routed calls and on the
// aggregator's fan-out alike.
func TestConnectorsSeeOnlyAllowListedClientHeaders(t *testing.T) {
	s := startSystem(t)
	token := s.token("alice", "demo")
	const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	sent := map[string]string{
		"Cookie":              "vmcp_console=secret-console-session; other=1",
		"Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
		"X-Forwarded-For":     "203.0.113.9",
		"X-Client-Secret":     "do-not-leak",
		"Accept-Encoding":     "gzip",
		"Traceparent":         traceparent,
	}
	mustNotSee := []string{"Cookie", "Proxy-Authorization", "X-Forwarded-For", "X-Client-Secret", "Accept-Encoding"}
	notesBefore, weatherBefore := len(s.notesSeen.all()), len(s.weatherSee.all())

	// A routed call (to notes) on the general route, the same on the connector's plain route
	// (the mirrored Mcp-Method and Mcp-Name give authz the hint; authz, not extproc, removes the
	// headers there), and a fan-out (tools/list reaches both connectors).
	plain := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "notes__add_note"}
	for k, v := range sent {
		plain[k] = v
	}
	for _, hs := range []map[string]string{sent, plain} {
		if status, _, body := rawRPC(t, s.url("demo"), token, callBody("notes__add_note"), hs); status != http.StatusOK || strings.Contains(string(body), `"error"`) {
			t.Fatalf("routed call: HTTP %d %s", status, body)
		}
	}
	if status, _, body := rawRPC(t, s.url("demo"), token, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, sent); status != http.StatusOK || !strings.Contains(string(body), "weather__get_forecast") {
		t.Fatalf("tools/list: HTTP %d %s", status, body)
	}
	notes, weather := s.notesSeen.all()[notesBefore:], s.weatherSee.all()[weatherBefore:]
	if len(notes) == 0 || len(weather) == 0 {
		t.Fatalf("requests seen: notes %d, weather %d; want both connectors reached", len(notes), len(weather))
	}
	sawTrace, sawToolsCall := false, false
	for _, h := range append(notes, weather...) {
		for _, k := range mustNotSee {
			if v := h.Get(k); v != "" {
				t.Errorf("a connector received %s: %q", k, v)
			}
		}
		for k, vs := range h {
			for _, v := range vs {
				if strings.Contains(v, "secret-console-session") || strings.Contains(v, "do-not-leak") {
					t.Errorf("a connector received the client's secret in %s", k)
				}
			}
		}
		sawTrace = sawTrace || h.Get("Traceparent") == traceparent
		sawToolsCall = sawToolsCall || h.Get("Content-Type") == "application/json"
	}
	if !sawTrace {
		t.Error("trace context did not reach the routed call's connector")
	}
	if !sawToolsCall {
		t.Error("no connector request carried Content-Type: application/json")
	}
}

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
)

// These tests are the attacks a security reviewer tries first, each made through the real Envoy
// edge with a real vmcp behind it. SECURITY.md lists which guarantee each one holds.

// A client cannot forge vmcp's internal headers: a routing header does not pick the connector, a
// forged identity is not believed, and no connector ever sees an x-vmcp-* header.
func TestSpoofedInternalHeadersAreStrippedAtTheEdge(t *testing.T) {
	s := startSystem(t)
	token := s.token("mallory", "demo")
	forged := map[string]string{
		"x-vmcp-connector": "notes",
		"X-VMCP-Identity":  "eyJzdWIiOiJhZG1pbiJ9.forged",
		"x-vmcp-listener":  "egress",
		"x-vmcp-decision":  "id=01FORGED&policy=forged&reason=trust+me",
	}
	// A tools/list with a routing header would reach the notes connector directly, past the
	// aggregator and the tool policy: it must be the merged, prefixed list instead.
	status, _, body := rawRPC(t, s.url("demo"), token, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, forged)
	if status != 200 || !strings.Contains(string(body), "weather__get_forecast") {
		t.Fatalf("tools/list with forged headers: HTTP %d %s, want the aggregator's merged list", status, body)
	}
	// A weather call with a notes routing header still goes to weather.
	status, _, body = rawRPC(t, s.url("demo"), token, callBody("weather__get_forecast"), forged)
	if code, msg := rpcErrorOf(body); status != 200 || code != 0 || !strings.Contains(string(body), "Oslo") {
		t.Fatalf("weather call with forged headers: HTTP %d, error %d %q: %s", status, code, msg, body)
	}
	// Without a token, forged identity headers get the OAuth challenge, nothing else.
	if status, hdr, _ := rawRPC(t, s.url("demo"), "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, forged); status != 401 || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("forged identity without a token: HTTP %d, want 401 with a challenge", status)
	}
	for _, rec := range []*recorder{s.notesSeen, s.weatherSee} {
		for _, h := range rec.all() {
			for k := range h {
				if strings.HasPrefix(strings.ToLower(k), "x-vmcp-") {
					t.Errorf("a connector saw the internal header %s", k)
				}
			}
		}
	}
	// A forged decision hand-off neither names nor decides the requests' audit events: each
	// of the two requests authz allowed has one event, under the id authz gave it.
	for _, ev := range s.awaitAudit(t, 2, func(ev audit.Event) bool { return ev.Kind != audit.KindEgress }, "--user", "mallory") {
		if ev.ID == "01FORGED" || ev.Policy == "forged" || ev.Reason == "trust me" {
			t.Errorf("a forged decision header reached the audit trail: %+v", ev)
		}
	}
}

// A session id is bound to the user and the virtual server it was issued for: someone else who
// learns it (a log, a shared proxy) or the same user on another virtual server gets 404, on the
// routed path (tools/call) and the aggregator's (tools/list) alike. A token for one virtual
// server is refused on another.
func TestSessionsAndTokensDoNotCrossUsersOrVirtualServers(t *testing.T) {
	s := startSystem(t)
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "ops", Connectors: []string{"notes", "weather"}}) })
	var aliceOps string
	harness.Eventually(t, 10*time.Second, func() error {
		aliceOps = s.token("alice", "ops")
		if code, _ := post(t, s.url("ops"), aliceOps); code != 200 {
			return fmt.Errorf("ops not served yet: HTTP %d", code)
		}
		return nil
	})
	alice, bob := s.token("alice", "demo"), s.token("bob", "demo")
	sid := initializeSession(t, s.url("demo"), alice)
	withSession := map[string]string{"Mcp-Session-Id": sid}

	// The owner can use it.
	if status, _, body := rawRPC(t, s.url("demo"), alice, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, withSession); status != 200 {
		t.Fatalf("the owner's own session: HTTP %d %s", status, body)
	}
	tests := []struct {
		name, url, token, body string
	}{
		{"another user, tools/call", s.url("demo"), bob, callBody("notes__add_note")},
		{"another user, tools/list", s.url("demo"), bob, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`},
		{"the same user on another virtual server, tools/call", s.url("ops"), aliceOps, callBody("notes__add_note")},
		{"the same user on another virtual server, tools/list", s.url("ops"), aliceOps, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, _, body := rawRPC(t, tc.url, tc.token, tc.body, withSession); status != http.StatusNotFound {
				t.Errorf("HTTP %d %s, want 404 (session not found)", status, body)
			}
		})
	}
	t.Run("a token for demo on ops", func(t *testing.T) {
		code, challenge := post(t, s.url("ops"), alice)
		if code != http.StatusUnauthorized || !strings.Contains(challenge, "invalid_token") {
			t.Errorf("HTTP %d %q, want 401 invalid_token", code, challenge)
		}
	})
}

// Tool names that look like, fold to or smuggle an allowed name reach no tool: vmcp refuses
// every one before any connector sees it. Look-alike and invisible characters are refused before
// routing; names made of valid characters behind a real prefix are refused because that
// connector's list (cached) has no such tool.
func TestToolNameTricksReachNoTool(t *testing.T) {
	s := startSystem(t)
	token := s.token("mallory", "demo")
	for _, name := range []string{
		"notes\uff3f\uff3fadd_note", // fullwidth low lines look like "__"
		"notes__add_n\u043ete",      // a Cyrillic о
		"notes__add_note\u200b",     // a zero-width space
		"notes__add_note ",          // trailing space
		"notes__add_note\n",         // a line break, for log injection
		"NOTES__add_note",           // no connector is called NOTES
		"__add_note",
		"notes_add_note",
		"notes__ADD_NOTE", // tool names are case-sensitive (MCP 2025-11-25)
		"notes____add_note",
		"notes__weather__get_forecast",
		"weather__../notes__add_note",
		"notes__no_such_tool",
	} {
		t.Run(name, func(t *testing.T) {
			status, _, body := rawRPC(t, s.url("demo"), token, callBody(name), nil)
			code, msg := rpcErrorOf(body)
			if status != 200 || code == 0 {
				t.Fatalf("HTTP %d %s: a tool answered", status, body)
			}
			if code != -32602 || !strings.Contains(msg, "on virtual server") {
				t.Errorf("error %d %q, want vmcp's -32602 unknown tool", code, msg)
			}
		})
	}
}

// Parser differentials: a tools/call hidden in a batch, duplicate or case-folded keys that
// another JSON parser would read differently, oversize and deeply nested bodies — each refused
// at the edge, none reaching a connector, and vmcp keeps serving.
func TestSmuggledAndOversizedRequestsAreRefusedAtTheEdge(t *testing.T) {
	s := startSystem(t)
	token := s.token("mallory", "demo")
	deep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	tests := []struct {
		name, body string
		wantStatus int
		wantCode   int
	}{
		{"a tools/call hidden in a batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"},` + callBody("notes__add_note") + `]`, 400, -32600},
		{"duplicate method keys", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"notes__add_note"}}`, 400, -32600},
		{"duplicate name keys", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather__get_forecast","name":"notes__add_note"}}`, 400, -32600},
		{"a key that case-folds to method", `{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call","params":{"name":"notes__add_note"}}`, 400, -32600},
		{"an escaped duplicate key", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather__get_forecast","n\u0061me":"notes__add_note"}}`, 400, -32600},
		{"deeply nested arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note","arguments":` + deep + `}}`, 400, 0},
	}
	before := len(s.notesSeen.all())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := rawRPC(t, s.url("demo"), token, tc.body, nil)
			code, _ := rpcErrorOf(body)
			if status != tc.wantStatus || (tc.wantCode != 0 && code != tc.wantCode) || (tc.wantCode == 0 && code == 0) {
				t.Errorf("HTTP %d %.200s, want %d with a JSON-RPC error %d", status, body, tc.wantStatus, tc.wantCode)
			}
		})
	}
	t.Run("a body over server.max_request_bytes", func(t *testing.T) {
		// extproc refuses a declared body over the limit (4 MiB by default) at the headers,
		// before Envoy buffers it (TestOversizeBodiesAlwaysGetAnImmediate413 sends many).
		huge := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"body":"` + strings.Repeat("x", 4<<20) + `"}}}`
		status, _, body := rawRPC(t, s.url("demo"), token, huge, nil)
		if code, _ := rpcErrorOf(body); status != http.StatusRequestEntityTooLarge || code != -32600 {
			t.Errorf("a 4 MiB body: HTTP %d %.200s, want 413 with a JSON-RPC -32600", status, body)
		}
	})
	if after := len(s.notesSeen.all()); after != before {
		t.Errorf("the notes connector received %d requests from the refused ones", after-before)
	}
	// vmcp is unharmed.
	if status, _, body := rawRPC(t, s.url("demo"), token, callBody("weather__get_forecast"), nil); status != 200 || !strings.Contains(string(body), "Oslo") {
		t.Errorf("after the attacks: HTTP %d %s", status, body)
	}
}

// A web page on a foreign (or DNS-rebound) origin reaches no tool: MCP's 403 for an untrusted
// Origin, on the POST path and on the GET stream alike, whatever token the browser holds. A
// client that is not a browser sends no Origin and is not affected.
func TestUntrustedBrowserOriginsAreRefusedAtTheEdge(t *testing.T) {
	s := startSystem(t)
	token := s.token("alice", "demo")
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	for _, tc := range []struct {
		name, origin string
		want         int
	}{
		{"no Origin", "", 200},
		{"the public URL's origin", s.edge, 200},
		{"a foreign origin", "https://evil.example.com", 403},
		{"a rebound name on vmcp's port", "http://attacker.example:" + s.edge[strings.LastIndexByte(s.edge, ':')+1:], 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]string{}
			if tc.origin != "" {
				extra["Origin"] = tc.origin
			}
			status, _, body := rawRPC(t, s.url("demo"), token, list, extra)
			if status != tc.want {
				t.Fatalf("POST tools/list: HTTP %d %.200s, want %d", status, body, tc.want)
			}
			if tc.want == 403 {
				if code, _ := rpcErrorOf(body); code != -32600 {
					t.Errorf("403 body %s, want a JSON-RPC error -32600", body)
				}
				req, _ := http.NewRequest(http.MethodGet, s.url("demo"), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Accept", "text/event-stream")
				req.Header.Set("Origin", tc.origin)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 403 {
					t.Errorf("GET stream: HTTP %d, want 403", resp.StatusCode)
				}
			}
		})
	}
}

// A runaway agent cannot flood a rate-limited virtual server: past its bucket the client gets
// 429 with Retry-After, through Envoy, before any connector is reached; other users go on.
func TestAUserOverTheVirtualServersRateLimitGets429(t *testing.T) {
	s := startSystem(t)
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "limited", Connectors: []string{"weather"}, Extra: "rate_limit: {requests_per_minute: 6, burst: 2}"})
	})
	alice, bob := s.token("alice", "limited"), s.token("bob", "limited")
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	for i := range 2 {
		if status, _, body := rawRPC(t, s.url("limited"), alice, list, nil); status != 200 {
			t.Fatalf("request %d within the burst: HTTP %d %.200s", i+1, status, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.url("limited"), strings.NewReader(callBody("weather__get_forecast")))
	req.Header.Set("Authorization", "Bearer "+alice)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	seenBefore := len(s.weatherSee.all())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: HTTP %d Retry-After %q %s, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if code, _ := rpcErrorOf(body); code != -32000 {
		t.Errorf("429 body %s, want a JSON-RPC error", body)
	}
	if n := len(s.weatherSee.all()); n != seenBefore {
		t.Errorf("the limited call reached the connector (%d requests, %d before)", n, seenBefore)
	}
	if status, _, body := rawRPC(t, s.url("limited"), bob, list, nil); status != 200 {
		t.Errorf("bob was limited by alice's requests: HTTP %d %.200s", status, body)
	}
}

package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// slowBody sends the headers of a POST and half its body, then nothing: the edge's request
// timeout ends it. It returns the status Envoy answered with.
func slowBody(t *testing.T, edgeAddr, path, token string) (int, error) {
	conn, err := net.Dial("tcp", edgeAddr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	body := callBody("notes__add_note")
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\nContent-Length: %d\r\n\r\n%s",
		path, edgeAddr, token, len(body), body[:len(body)/2])
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Every request that passes authz leaves exactly one MCP audit event, refusals included: each
// refusal path below is taken once by its own user, and that user's trail holds exactly one
// event, with the outcome the refusal deserves.
func TestEveryRefusalIsAuditedExactlyOnce(t *testing.T) {
	s := startSystem(t)
	owner := s.token("owner", "demo")
	sid := initializeSession(t, s.url("demo"), owner)

	// Envoy's request timeout (30 s) is the slowest path: it runs alongside the others.
	var wg sync.WaitGroup
	var slowStatus int
	var slowErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		slowStatus, slowErr = slowBody(t, s.addrs["edge"], "/v/demo/mcp", s.token("slow-sender", "demo"))
	}()

	type refusal struct {
		user, method, outcome string
		code                  int // the JSON-RPC error code recorded, when there is one
		do                    func(token string) int
		wantStatus            int
	}
	withSession := map[string]string{"Mcp-Session-Id": sid}
	rpcStatus := func(body string, hdr map[string]string) func(string) int {
		return func(token string) int {
			status, _, _ := rawRPC(t, s.url("demo"), token, body, hdr)
			return status
		}
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	huge := string(oversizeCall(5 << 20))
	for _, tc := range []refusal{
		{"thief-call", "tools/call", audit.OutcomeError, -32600, rpcStatus(callBody("notes__add_note"), withSession), 404},
		{"forger-call", "tools/call", audit.OutcomeError, -32600, rpcStatus(callBody("notes__add_note"), map[string]string{"Mcp-Session-Id": "bm90LWEtc2Vzc2lvbi1pZC1hdC1hbGwtYnV0LWxvbmctZW5vdWdo"}), 404},
		{"thief-list", "tools/list", audit.OutcomeError, -32600, rpcStatus(list, withSession), 404},
		{"thief-delete", "DELETE", audit.OutcomeError, 0, func(token string) int { return sessionRequest(t, http.MethodDelete, s.url("demo"), token, sid) }, 404},
		{"thief-get", "GET", audit.OutcomeError, 0, func(token string) int { return sessionRequest(t, http.MethodGet, s.url("demo"), token, sid) }, 404},
		{"oversize", "POST", audit.OutcomeError, -32600, rpcStatus(huge, nil), 413},
	} {
		t.Run(tc.user, func(t *testing.T) {
			if status := tc.do(s.token(tc.user, "demo")); status != tc.wantStatus {
				t.Fatalf("HTTP %d, want %d", status, tc.wantStatus)
			}
			ev := s.awaitAudit(t, 1, func(audit.Event) bool { return true }, "--user", tc.user, "--kind", "mcp")
			if len(ev) == 1 && (ev[0].Method != tc.method || ev[0].Outcome != tc.outcome || ev[0].ErrorCode != tc.code || ev[0].VirtualServer != "demo") {
				t.Errorf("audited %+v, want %s with outcome %s and code %d", ev[0], tc.method, tc.outcome, tc.code)
			}
		})
	}

	// The owner's own DELETE ends the session, and is an event too.
	if status := sessionRequest(t, http.MethodDelete, s.url("demo"), owner, sid); status != http.StatusNoContent {
		t.Fatalf("the owner's DELETE: HTTP %d", status)
	}
	s.awaitAudit(t, 1, func(ev audit.Event) bool { return ev.Method == "DELETE" && ev.Outcome == audit.OutcomeOK }, "--user", "owner", "--kind", "mcp")

	wg.Wait()
	if slowErr != nil || slowStatus != http.StatusRequestTimeout {
		t.Fatalf("a body that never finishes: HTTP %d %v, want 408", slowStatus, slowErr)
	}
	ev := s.awaitAudit(t, 1, func(audit.Event) bool { return true }, "--user", "slow-sender", "--kind", "mcp")
	if len(ev) == 1 && (ev[0].Outcome != audit.OutcomeError || !strings.Contains(ev[0].Reason, "408")) {
		t.Errorf("the timed-out request was audited as %+v", ev[0])
	}
}

package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// MCP transports: after a client's DELETE the session is over — its id gets 404 on every later
// request (tools/list from the aggregator, tools/call on the routed path, the GET stream), on
// the replica that took the DELETE at once and on every other replica of the deployment once it
// syncs (each second).
func TestADeletedSessionIsRefusedOnEveryReplica(t *testing.T) {
	shared := postgresStore(t)
	a := startSystem(t, func(c *harness.Config) { c.Store = shared })
	b := startReplica(t, a)
	token := a.token("dora", "demo")
	sid := initializeSession(t, a.url("demo"), token)
	withSession := map[string]string{"Mcp-Session-Id": sid}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`

	// Every way a session id is used, on one replica's edge.
	uses := func(edge *system) map[string]func() int {
		return map[string]func() int{
			"tools/list": func() int { status, _, _ := rawRPC(t, edge.url("demo"), token, list, withSession); return status },
			"tools/call": func() int {
				status, _, _ := rawRPC(t, edge.url("demo"), token, callBody("notes__list_notes"), withSession)
				return status
			},
			"GET stream": func() int { return sessionRequest(t, http.MethodGet, edge.url("demo"), token, sid) },
		}
	}
	for name, use := range uses(b) {
		if status := use(); status != http.StatusOK {
			t.Fatalf("before the DELETE, %s on replica B: HTTP %d", name, status)
		}
	}

	if status := sessionRequest(t, http.MethodDelete, a.url("demo"), token, sid); status != http.StatusNoContent {
		t.Fatalf("DELETE: HTTP %d, want 204", status)
	}
	for name, use := range uses(a) {
		if status := use(); status != http.StatusNotFound {
			t.Errorf("after the DELETE, %s on replica A: HTTP %d, want 404", name, status)
		}
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if status := uses(b)["tools/list"](); status != http.StatusNotFound {
			return fmt.Errorf("tools/list on replica B: HTTP %d, want 404", status)
		}
		return nil
	})
	for name, use := range uses(b) {
		if status := use(); status != http.StatusNotFound {
			t.Errorf("after the DELETE, %s on replica B: HTTP %d, want 404", name, status)
		}
	}
	// The user's other sessions go on.
	other := initializeSession(t, b.url("demo"), token)
	if status, _, body := rawRPC(t, a.url("demo"), token, list, map[string]string{"Mcp-Session-Id": other}); status != http.StatusOK {
		t.Errorf("another session of the user: HTTP %d %s", status, body)
	}
}

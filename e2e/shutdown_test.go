package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
)

// SIGTERM (a deploy, Ctrl-C) drains vmcp: a tool call in flight when the signal arrives gets its
// whole answer (an SSE stream, closed normally), new requests are refused, vmcp exits 0, Envoy
// is stopped cleanly, and the call's audit event is in the store.
func TestSIGTERMLetsInFlightCallsFinishAndFlushesTheAudit(t *testing.T) {
	s := startSystem(t)
	g := newGate()
	s.addConnector(harness.Connector{Name: "gated", Timeout: 5 * time.Second, CallTimeout: 30 * time.Second}, gatedConnector(g))
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "drain", Connectors: []string{"gated"}}) })
	token := s.token("grace", "drain")
	var cs *mcp.ClientSession
	harness.Eventually(t, 10*time.Second, func() error {
		var err error
		cs, err = tryConnect(s.url("drain"), token)
		return err
	})
	defer cs.Close()

	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	// Each step needs the one before it; the call's answer arrives on answered.
	answered := make(chan answer, 1)
	harness.Step(t, "a slow call reaches its connector", func(t *testing.T) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "gated__wait", Arguments: map[string]any{}})
			answered <- answer{res, err}
		}()
		select {
		case <-g.started:
		case <-time.After(20 * time.Second):
			t.Fatal("the slow call never reached its connector")
		}
	})
	harness.Step(t, "while vmcp drains, new requests get a retryable refusal", func(t *testing.T) {
		if err := syscall.Kill(s.vmcp.Pid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 10*time.Second, func() error {
			if !strings.Contains(s.vmcp.Output(), "stopping: in-flight requests finish") {
				return fmt.Errorf("vmcp has not begun to stop")
			}
			return nil
		})
		// A request that arrives while vmcp drains is refused (Envoy fails closed without authz),
		// never served half-way.
		harness.Eventually(t, 10*time.Second, func() error {
			if code, _ := post(t, s.url("drain"), token); code == 200 {
				return fmt.Errorf("a new request was still served during the drain")
			}
			return nil
		})
		// ... with an answer clients retry on: 503, Retry-After, a JSON-RPC error.
		checkRetryable(t, s.url("drain"), token)
		select {
		case a := <-answered:
			t.Fatalf("the in-flight call ended before its connector answered: %v %v", a.res, a.err)
		default:
		}
	})
	harness.Step(t, "the call in flight gets its whole answer", func(t *testing.T) {
		close(g.release)
		select {
		case a := <-answered:
			if a.err != nil || a.res.IsError {
				t.Fatalf("the in-flight call did not finish: %v %v", a.err, a.res)
			}
			raw, _ := json.Marshal(a.res.StructuredContent)
			if !strings.Contains(string(raw), `"done":true`) {
				t.Errorf("the in-flight call's answer is incomplete: %s", raw)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the in-flight call got no answer after its connector answered")
		}
	})
	harness.Step(t, "vmcp exits 0 and stops Envoy cleanly", func(t *testing.T) {
		select {
		case <-s.vmcp.Done():
		case <-time.After(20 * time.Second):
			t.Fatal("vmcp did not exit after SIGTERM")
		}
		if err := s.vmcp.Err(); err != nil {
			t.Errorf("vmcp exited with %v after SIGTERM, want status 0", err)
		}
		out := s.vmcp.Output()
		if !strings.Contains(out, "envoy stopped") || strings.Contains(out, "envoy exited") {
			t.Errorf("Envoy was not stopped cleanly after the drain")
		}
	})
	harness.Step(t, "the drained call is in the audit trail", func(t *testing.T) {
		// vmcp has exited: whatever it recorded is in the store now, or never will be.
		db := s.openStore(t)
		defer db.Close()
		events, err := auditEvents(db, audit.Filter{Subject: "grace"})
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, e := range events {
			if e.Kind == audit.KindMCP && e.Method == "tools/call" && e.Target == "gated__wait" {
				found = true
				if e.Outcome != audit.OutcomeOK {
					t.Errorf("the drained call was audited with outcome %q, want %q", e.Outcome, audit.OutcomeOK)
				}
			}
		}
		if !found {
			t.Errorf("the call that finished during the drain has no audit event (%d events for the user)", len(events))
		}
	})
}

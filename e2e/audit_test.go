package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// Every MCP request and every authz decision through Envoy becomes exactly one audit event in
// the store, attributed to the user who made it; secrets never appear in one.
func TestEveryRequestIsAuditedByItsUser(t *testing.T) {
	s := startSystem(t)
	clientToken := s.token("frank", "demo", "--groups", "eng")
	cs := connect(t, s.url("demo"), clientToken)
	const calls = 5
	for i := 0; i < calls; i++ {
		if res := callTool(t, cs, "notes__add_note", map[string]any{"title": fmt.Sprint("n", i), "body": "b"}); res.IsError {
			t.Fatalf("call %d failed: %v", i, res.Content)
		}
	}
	toolNames(t, cs)

	st, err := store.OpenSQLite(context.Background(), filepath.Join(s.dir, "data", "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var events []audit.Event
	harness.Eventually(t, 10*time.Second, func() error {
		events, _, err = st.QueryAuditEvents(context.Background(), audit.Filter{Subject: "frank", Limit: 1000})
		if err != nil {
			return err
		}
		n := 0
		for _, e := range events {
			if e.Kind == audit.KindMCP && e.Method == "tools/call" {
				n++
			}
		}
		if n < calls {
			return fmt.Errorf("%d tools/call events so far, want %d", n, calls)
		}
		return nil
	})
	var toolCalls, lists, authzAllows int
	for _, e := range events {
		switch {
		case e.Kind == audit.KindMCP && e.Method == "tools/call":
			toolCalls++
			if e.Connector != "notes" || e.Target != "notes__add_note" || e.Outcome != audit.OutcomeOK || e.VirtualServer != "demo" || e.Email != "frank@example.com" {
				t.Errorf("tools/call event = %+v", e)
			}
			if _, ok := e.Arguments["title"]; !ok {
				t.Errorf("the default argument mode (keys) lost the argument names: %v", e.Arguments)
			}
		case e.Kind == audit.KindMCP && e.Method == "tools/list":
			lists++
		case e.Kind == audit.KindAuthz && e.Decision == "allow":
			authzAllows++
		}
	}
	if toolCalls != calls || lists != 1 {
		t.Errorf("audited %d tools/call and %d tools/list, want %d and 1", toolCalls, lists, calls)
	}
	if raw, _ := json.Marshal(events); strings.Contains(string(raw), clientToken) || strings.Contains(string(raw), notesToken) {
		t.Error("a token reached the audit records")
	}
	if authzAllows < calls+1 {
		t.Errorf("audited %d authz allows, want one per request (at least %d)", authzAllows, calls+1)
	}
}

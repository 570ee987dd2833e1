package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
)

// Every MCP request through Envoy becomes exactly one audit event in the store, attributed to
// the user who made it, with authz's decision on it (authz's own event gives way to the
// request's); secrets never appear in one.
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
	// A tool error travels inside an HTTP 200 (and here inside an SSE stream): extproc reads the
	// answer as it streams by to record it.
	if res := callTool(t, cs, "weather__convert_temperature", map[string]any{"value": -500, "from": "C", "to": "K"}); !res.IsError {
		t.Fatalf("converting below absolute zero did not fail: %v", res.Content)
	}

	db := s.openStore(t)
	defer db.Close()
	var events []audit.Event
	harness.Eventually(t, 10*time.Second, func() error {
		var err error
		events, err = auditEvents(db, audit.Filter{Subject: "frank"})
		if err != nil {
			return err
		}
		n := 0
		for _, e := range events {
			if e.Kind == audit.KindMCP && e.Method == "tools/call" {
				n++
			}
		}
		if n < calls+1 {
			return fmt.Errorf("%d tools/call events so far, want %d", n, calls+1)
		}
		return nil
	})
	var toolCalls, toolErrors, lists int
	var authzAllows []audit.Event
	ids := map[string]bool{}
	for _, e := range events {
		if e.Kind == audit.KindEgress {
			continue // the aggregator's own requests to connectors for frank
		}
		if ids[e.ID] {
			t.Errorf("two events with the id %s", e.ID)
		}
		ids[e.ID] = true
		if e.Decision != "allow" || e.Policy == "" || e.PolicyRevision == "" {
			t.Errorf("an event without the decision that let the request in: %+v", e)
		}
		switch {
		case e.Kind == audit.KindMCP && e.Method == "tools/call" && e.Connector == "weather":
			toolErrors++
			if e.Outcome != audit.OutcomeToolError || e.Target != "weather__convert_temperature" {
				t.Errorf("the failed conversion was recorded as %+v", e)
			}
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
		case e.Kind == audit.KindAuthz:
			authzAllows = append(authzAllows, e)
		}
	}
	if toolCalls != calls || toolErrors != 1 || lists != 1 {
		t.Errorf("audited %d tools/call and %d tools/list, want %d and 1", toolCalls, lists, calls)
	}
	if raw, _ := json.Marshal(events); strings.Contains(string(raw), clientToken) || strings.Contains(string(raw), notesToken) {
		t.Error("a token reached the audit records")
	}
	// Each request's own event took the place of authz's decision on it.
	for _, e := range authzAllows {
		t.Errorf("authz's decision on %s stayed beside the request's own event: %+v", e.Method, e)
	}
}

func TestAdminsQueryTheAuditTrailAndUsageWithTheCLI(t *testing.T) {
	s := startSystem(t)
	cs := connect(t, s.url("demo"), s.token("gina", "demo"))
	for i := 0; i < 3; i++ {
		callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Rome", "days": 1})
	}
	server := "http://" + s.addrs["http"]
	admin := s.token("root", "", "--admin", "--groups", "vmcp-admins")
	vmcp := harness.BuildVMCP(t)
	var out []byte
	harness.Eventually(t, 10*time.Second, func() error {
		var err error
		out, err = exec.Command(vmcp, "audit", "--server", server, "--token", admin, "--user", "gina", "--tool", "weather__get_forecast", "--json").Output()
		if err != nil {
			return fmt.Errorf("vmcp audit: %v", err)
		}
		if n := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; len(strings.TrimSpace(string(out))) == 0 || n < 3 {
			return fmt.Errorf("vmcp audit printed %d events, want 3", n)
		}
		return nil
	})
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ev audit.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Subject != "gina" || ev.Connector != "weather" {
			t.Errorf("audit line %q", line)
		}
	}
	usage, err := exec.Command(vmcp, "usage", "--server", server, "--token", admin, "--by", "tool").CombinedOutput()
	if err != nil || !strings.Contains(string(usage), "weather__get_forecast") {
		t.Errorf("vmcp usage: %v\n%s", err, usage)
	}

	// A signed-in user who is not an admin is refused, and so is a virtual server's token.
	for name, tok := range map[string]string{
		"a non-admin's admin token": s.token("gina", "", "--admin", "--groups", "eng"),
		"a virtual server's token":  s.token("root", "demo", "--groups", "vmcp-admins"),
	} {
		if out, err := exec.Command(vmcp, "audit", "--server", server, "--token", tok).CombinedOutput(); err == nil {
			t.Errorf("%s read the audit trail:\n%s", name, out)
		}
	}
}

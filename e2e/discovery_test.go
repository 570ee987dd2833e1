package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/toolsearch/toolsearchtest"
)

// searchNames calls search_tools for at most three tools and returns their names.
func searchNames(t *testing.T, cs *mcp.ClientSession, query string) []string {
	t.Helper()
	res := callTool(t, cs, "search_tools", map[string]any{"query": query, "limit": 3})
	if res.IsError {
		t.Fatalf("search_tools %q: %v", query, res.Content)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var found struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(raw, &found); err != nil {
		t.Fatalf("search_tools %q: %s", query, raw)
	}
	var names []string
	for _, tool := range found.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// Tool discovery through a real Envoy: a virtual server of the two example connectors and ten
// generated ones (502 tools) lists only the meta-tools and a pinned tool; search_tools finds
// tools within the caller's view; call_tool reaches the connector with its credential, is denied
// exactly like a direct call, and is audited under the real tool's name.
func TestToolSearchAndCallToolThroughEnvoy(t *testing.T) {
	s := startSystem(t)
	for _, c := range toolsearchtest.Catalog() {
		s.addConnector(harness.Connector{Name: c.Name, Timeout: 5 * time.Second}, toolsearchtest.Handler(c))
	}
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "big",
			Connectors: []string{"notes", "weather", "github", "slack", "jira", "drive", "calendar", "crm", "billing", "monitoring", "database", "mail"},
			Extra: `tools: {discovery: search, pinned: [weather__get_forecast]}
access:
  tools:
    "billing__delete_*": [finance]
`})
	})

	// alice (eng) on the virtual server; the first step is a harness.Step, since nothing after
	// it means anything if the list is wrong, the others t.Run. The audit step counts the calls
	// the steps before it made.
	cs := connect(t, s.url("big"), s.token("alice", "big", "--groups", "eng"))
	harness.Step(t, "the tool list is the meta-tools and the pinned tool only", func(t *testing.T) {
		if names := toolNames(t, cs); !slices.Equal(names, []string{"search_tools", "call_tool", "weather__get_forecast"}) {
			t.Fatalf("tools/list = %v, want the meta-tools and the pinned tool", names)
		}
	})
	t.Run("search_tools finds tools within the caller's view", func(t *testing.T) {
		if names := searchNames(t, cs, "refund a charge"); !slices.Contains(names, "billing__create_refund") {
			t.Errorf("search for a refund = %v", names)
		}
		if names := searchNames(t, cs, "add a note"); !slices.Contains(names, "notes__add_note") {
			t.Errorf("search for a note = %v", names)
		}
		if names := searchNames(t, cs, "billing__delete_customer"); slices.Contains(names, "billing__delete_customer") {
			t.Errorf("alice found a tool reserved to finance: %v", names)
		}
	})
	t.Run("call_tool reaches the connector with its credential", func(t *testing.T) {
		before := len(s.notesSeen.all())
		res := callTool(t, cs, "call_tool", map[string]any{"name": "notes__add_note", "arguments": map[string]any{"title": "via search", "body": "b"}})
		if res.IsError {
			t.Fatalf("call_tool notes__add_note: %v", res.Content)
		}
		seen := s.notesSeen.all()[before:]
		if len(seen) == 0 || seen[len(seen)-1].Get("Authorization") != "Bearer "+notesToken {
			t.Errorf("the notes connector did not get the call with its credential")
		}
		res = callTool(t, cs, "call_tool", map[string]any{"name": "github__create_issue", "arguments": map[string]any{"repo": "vmcp", "title": "t"}})
		if text := res.Content[0].(*mcp.TextContent).Text; res.IsError || !strings.Contains(text, `"tool":"create_issue"`) || !strings.Contains(text, `"repo":"vmcp"`) {
			t.Errorf("call_tool github__create_issue answered %v", res.Content)
		}
	})
	t.Run("call_tool is denied exactly as a direct call", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, direct := cs.CallTool(ctx, &mcp.CallToolParams{Name: "billing__delete_customer", Arguments: map[string]any{"customer_id": "c1"}})
		_, viaMeta := cs.CallTool(ctx, &mcp.CallToolParams{Name: "call_tool", Arguments: map[string]any{"name": "billing__delete_customer", "arguments": map[string]any{"customer_id": "c1"}}})
		if direct == nil || viaMeta == nil || direct.Error() != viaMeta.Error() || !strings.Contains(direct.Error(), "denied by policy") {
			t.Errorf("direct: %v\ncall_tool: %v\nwant the same policy denial", direct, viaMeta)
		}
	})
	t.Run("a 2026-07-28 client gets the same discovery, private to it", func(t *testing.T) {
		// A 2026-07-28 client (no session; method and name mirrored in headers) gets the same
		// discovery list, private to it, and call_tool routes for it too.
		modernToken := s.token("alice", "big", "--groups", "eng")
		list := modernRPC(t, s.url("big"), modernToken, "tools/list", "", map[string]any{})
		if raw, _ := json.Marshal(list["tools"]); list["cacheScope"] != "private" || !strings.Contains(string(raw), `"search_tools"`) || strings.Contains(string(raw), "notes__add_note") {
			t.Errorf("2026-07-28 tools/list = %v", list)
		}
		found := modernRPC(t, s.url("big"), modernToken, "tools/call", "search_tools", map[string]any{"name": "search_tools", "arguments": map[string]any{"query": "weather forecast"}})
		if raw, _ := json.Marshal(found["structuredContent"]); !strings.Contains(string(raw), `"weather__get_forecast"`) {
			t.Errorf("2026-07-28 search_tools: %s", raw)
		}
		called := modernRPC(t, s.url("big"), modernToken, "tools/call", "call_tool", map[string]any{"name": "call_tool", "arguments": map[string]any{"name": "weather__get_forecast", "arguments": map[string]any{"city": "Oslo", "days": 1}}})
		if called["isError"] == true {
			t.Errorf("2026-07-28 call_tool: %v", called)
		}
	})
	t.Run("the audit trail names the real tools", func(t *testing.T) {
		db := s.openStore(t)
		defer db.Close()
		harness.Eventually(t, 10*time.Second, func() error {
			events, err := auditEvents(db, audit.Filter{Subject: "alice"})
			if err != nil {
				return err
			}
			var added, denied, searches int
			for _, e := range events {
				switch {
				case e.Method != "tools/call" || e.VirtualServer != "big":
				case e.Target == "notes__add_note" && e.Connector == "notes" && e.Outcome == audit.OutcomeOK:
					added++
				case e.Target == "billing__delete_customer" && e.Outcome == audit.OutcomeDenied && e.Decision == "deny":
					denied++
				case e.Target == "search_tools" && e.Outcome == audit.OutcomeOK:
					searches++
				case e.Target == "call_tool":
					return fmt.Errorf("an event names call_tool instead of the real tool: %+v", e)
				}
			}
			if added != 1 || denied != 2 || searches != 4 {
				return fmt.Errorf("audited %d add_note, %d denials, %d searches; want 1, 2, 4", added, denied, searches)
			}
			return nil
		})
	})
}

// modernRPC sends one 2026-07-28 request through Envoy: no session, the revision in _meta and
// MCP-Protocol-Version, the method and name mirrored in Mcp-Method and Mcp-Name.
func modernRPC(t *testing.T, url, token, method, name string, params map[string]any) map[string]any {
	t.Helper()
	hdr := modernHeaders(method, name)
	hdr["Authorization"] = "Bearer " + token
	status, _, raw := postMCP(t, url, modernRequest(method, params), hdr)
	var m struct {
		Result map[string]any `json:"result"`
		Error  any            `json:"error"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Error != nil || status != http.StatusOK {
		t.Fatalf("2026-07-28 %s: HTTP %d %s", method, status, raw)
	}
	return m.Result
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
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
	var extra strings.Builder
	for _, c := range toolsearchtest.Catalog() {
		s.serveConnector(c.Name, toolsearchtest.Handler(c))
		fmt.Fprintf(&extra, "  - {name: %s, url: \"http://%s/mcp\", timeout: 5s}\n", c.Name, s.addrs[c.Name])
	}
	s.reload(func() {
		s.connectors = strings.TrimSuffix(extra.String(), "\n")
		s.writeConfig(`  - name: big
    connectors: [notes, weather, github, slack, jira, drive, calendar, crm, billing, monitoring, database, mail]
    tools: {discovery: search, pinned: [weather__get_forecast]}
    access:
      tools:
        "billing__delete_*": [finance]
`)
	})

	cs := connect(t, s.url("big"), s.token("alice", "big", "--groups", "eng"))
	if names := toolNames(t, cs); !slices.Equal(names, []string{"search_tools", "call_tool", "weather__get_forecast"}) {
		t.Fatalf("tools/list = %v, want the meta-tools and the pinned tool", names)
	}
	if names := searchNames(t, cs, "refund a charge"); !slices.Contains(names, "billing__create_refund") {
		t.Errorf("search for a refund = %v", names)
	}
	if names := searchNames(t, cs, "add a note"); !slices.Contains(names, "notes__add_note") {
		t.Errorf("search for a note = %v", names)
	}
	if names := searchNames(t, cs, "billing__delete_customer"); slices.Contains(names, "billing__delete_customer") {
		t.Errorf("alice found a tool reserved to finance: %v", names)
	}

	// call_tool reaches the connector, with the connector's credential.
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

	// Denied through call_tool exactly as directly.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, direct := cs.CallTool(ctx, &mcp.CallToolParams{Name: "billing__delete_customer", Arguments: map[string]any{"customer_id": "c1"}})
	_, viaMeta := cs.CallTool(ctx, &mcp.CallToolParams{Name: "call_tool", Arguments: map[string]any{"name": "billing__delete_customer", "arguments": map[string]any{"customer_id": "c1"}}})
	if direct == nil || viaMeta == nil || direct.Error() != viaMeta.Error() || !strings.Contains(direct.Error(), "denied by policy") {
		t.Errorf("direct: %v\ncall_tool: %v\nwant the same policy denial", direct, viaMeta)
	}

	st, err := store.OpenSQLite(context.Background(), filepath.Join(s.dir, "data", "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	harness.Eventually(t, 10*time.Second, func() error {
		events, _, err := st.QueryAuditEvents(context.Background(), audit.Filter{Subject: "alice", Limit: 1000})
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
		if added != 1 || denied != 2 || searches != 3 {
			return fmt.Errorf("audited %d add_note, %d denials, %d searches; want 1, 2, 3", added, denied, searches)
		}
		return nil
	})
}

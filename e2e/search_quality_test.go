package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/toolsearch/toolsearchtest"
)

// Tool search's quality measured where clients meet it: fourteen real MCP servers' catalogs,
// each served by a go-sdk server with the real tools' names, descriptions and input schemas,
// behind a real Envoy and vmcp, and the held-out queries asked through search_tools. What the
// gateway indexes is what the connectors list, as vmcp renames it for the caller; the answers
// are held to the same bar as the ranker's own test (internal/toolsearch).
func TestToolSearchMeetsTheBarThroughEnvoy(t *testing.T) {
	connectors, err := toolsearchtest.RealServers()
	if err != nil {
		t.Fatal(err)
	}
	queries, err := toolsearchtest.Queries(toolsearchtest.HeldOut)
	if err != nil {
		t.Fatal(err)
	}
	s := startSystem(t)
	var names []string
	for _, c := range connectors {
		s.serveConnector(c.Name, toolsearchtest.Handler(c))
		s.config.Connectors = append(s.config.Connectors, harness.Connector{Name: c.Name, URL: "http://" + s.addrs[c.Name] + "/mcp", Timeout: 5 * time.Second})
		names = append(names, c.Name)
	}
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "real", Connectors: names, Extra: "tools: {discovery: search}"})
	})
	cs := connect(t, s.url("real"), s.token("alice", "real"))
	if got := toolNames(t, cs); !slices.Equal(got, []string{"search_tools", "call_tool"}) {
		t.Fatalf("tools/list = %v, want only the meta-tools", got)
	}

	start := time.Now()
	sc, err := toolsearchtest.Evaluate(queries, toolsearchtest.PrefixedNames(connectors), func(q string) ([]string, error) {
		return searchTop(cs, q, toolsearchtest.Ranked)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out set through Envoy and vmcp, %d queries in %v:\n%s", len(queries), time.Since(start).Round(time.Millisecond), sc)
	if short := sc.BelowBar(); len(short) > 0 {
		for _, s := range short {
			t.Error(s)
		}
		for _, m := range sc.Misses() {
			t.Log("miss: " + m)
		}
	}
}

// searchTop asks search_tools for the limit best tools for query and returns their names.
func searchTop(cs *mcp.ClientSession, query string, limit int) ([]string, error) {
	res, err := tryCallTool(cs, "search_tools", map[string]any{"query": query, "limit": limit})
	if err != nil {
		return nil, err
	}
	if res.IsError {
		return nil, fmt.Errorf("search_tools: %v", res.Content)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var found struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(raw, &found); err != nil {
		return nil, fmt.Errorf("search_tools answered %s", raw)
	}
	var names []string
	for _, tool := range found.Tools {
		names = append(names, tool.Name)
	}
	return names, nil
}

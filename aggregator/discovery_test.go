package aggregator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/toolsearch/toolsearchtest"
)

// bigServer is an aggregator over the generated catalog: ten go-sdk MCP servers of fifty tools
// each. The egress address plays Envoy's egress listener: it hands each request to the
// connector its x-vmcp-connector header names, as the egress routes do.
type bigServer struct {
	t      testing.TB
	agg    *Server
	signer *identity.Signer
}

// bigConfig: "big" searches above 40 visible tools and pins two tools; crm is for sales only,
// billing's delete tools for finance only, and github's delete_repository is hidden. "small"
// has one connector (50 tools) under an auto threshold of 60; "plain" has discovery off.
const bigConfig = `
virtual_servers:
  - name: big
    connectors:
      - {name: github, tools: {delete_repository: {hidden: true}}}
      - slack
      - jira
      - drive
      - calendar
      - crm
      - billing
      - monitoring
      - database
      - mail
    tools: {discovery: auto, pinned: [slack__create_message, billing__delete_customer]}
    access:
      tools:
        "crm__*": [sales]
        "billing__delete_*": [finance]
  - name: small
    connectors: [slack]
    tools: {discovery: auto, threshold: 60}
  - name: plain
    connectors: [slack]
`

func startBig(t testing.TB) *bigServer {
	t.Helper()
	return startAggregator(t, toolsearchtest.Catalog(), bigConfig)
}

// startAggregator serves conns behind one egress address and configures an aggregator with
// them and the virtual servers in servers.
func startAggregator(t testing.TB, conns []toolsearchtest.Connector, servers string) *bigServer {
	t.Helper()
	handlers := map[string]http.Handler{}
	var list strings.Builder
	list.WriteString("connectors:\n")
	egress := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := handlers[r.Header.Get(headers.Connector)]
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(egress.Close)
	addr := strings.TrimPrefix(egress.URL, "http://")
	for _, c := range conns {
		handlers[c.Name] = toolsearchtest.Handler(c)
		fmt.Fprintf(&list, "  - {name: %s, url: \"http://%s/mcp\"}\n", c.Name, addr)
	}
	cfg, err := config.Load("t.yaml", []byte(list.String()+servers))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := identity.NewSigner([]byte(strings.Repeat("i", 32)))
	codec, _ := session.NewCodec([]byte(strings.Repeat("s", 32)), time.Hour)
	agg := NewServer(addr, signer, codec, "test", nil, zaptest.NewLogger(t))
	commit, err := agg.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	return &bigServer{t: t, agg: agg, signer: signer}
}

// rpc sends one sessionless JSON-RPC request to vs as user in groups and returns its result, or
// fails the test on a JSON-RPC error.
func (b *bigServer) rpc(vs, user string, groups []string, method string, params any) json.RawMessage {
	b.t.Helper()
	res, rpcErr := b.try(vs, user, groups, method, params)
	if rpcErr != nil {
		b.t.Fatalf("%s: %s", method, rpcErr)
	}
	return res
}

func (b *bigServer) try(vs, user string, groups []string, method string, params any) (json.RawMessage, json.RawMessage) {
	b.t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req := httptest.NewRequest(http.MethodPost, "/v/"+vs+"/mcp", strings.NewReader(string(body)))
	signed, _ := b.signer.Sign(identity.Identity{Subject: user, Groups: groups, VirtualServer: vs, Expiry: time.Now().Add(time.Hour).Unix()})
	req.Header.Set(headers.Identity, signed)
	rec := httptest.NewRecorder()
	b.agg.ServeHTTP(rec, req)
	var m struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		b.t.Fatalf("%s: HTTP %d %s", method, rec.Code, rec.Body.String())
	}
	return m.Result, m.Error
}

type toolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
}

func (b *bigServer) list(vs, user string, groups ...string) []toolDef {
	b.t.Helper()
	var res struct{ Tools []toolDef }
	if err := json.Unmarshal(b.rpc(vs, user, groups, "tools/list", nil), &res); err != nil {
		b.t.Fatal(err)
	}
	return res.Tools
}

// search calls search_tools and returns the result names, or the tool error text.
func (b *bigServer) search(vs, user string, groups []string, args map[string]any) (names []string, toolErr string) {
	b.t.Helper()
	var res struct {
		Content []struct{ Text string }
		IsError bool `json:"isError"`
		Struct  struct {
			Tools []toolDef `json:"tools"`
		} `json:"structuredContent"`
	}
	if err := json.Unmarshal(b.rpc(vs, user, groups, "tools/call", map[string]any{"name": "search_tools", "arguments": args}), &res); err != nil {
		b.t.Fatal(err)
	}
	if res.IsError {
		return nil, res.Content[0].Text
	}
	for _, t := range res.Struct.Tools {
		if t.Name == "" || len(t.InputSchema) == 0 {
			b.t.Errorf("a search result lacks its name or input schema: %+v", t)
		}
		names = append(names, t.Name)
	}
	return names, ""
}

func toolNamesOf(ts []toolDef) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestDiscoveryListsMetaToolsAndThePinnedToolsTheCallerMaySee(t *testing.T) {
	b := startBig(t)
	if got := toolNamesOf(b.list("big", "alice", "eng")); !slices.Equal(got, []string{"search_tools", "call_tool", "slack__create_message"}) {
		t.Errorf("alice's list = %v; want the meta-tools and the one pinned tool she may see", got)
	}
	if got := toolNamesOf(b.list("big", "frank", "finance")); !slices.Equal(got, []string{"search_tools", "call_tool", "slack__create_message", "billing__delete_customer"}) {
		t.Errorf("frank's list = %v; want the meta-tools and both pinned tools", got)
	}
	// Auto mode under its threshold, and discovery off, list every tool.
	for _, vs := range []string{"small", "plain"} {
		if got := b.list(vs, "alice"); len(got) != 50 || !strings.HasPrefix(got[0].Name, "slack__") {
			t.Errorf("%s lists %d tools, want slack's 50", vs, len(got))
		}
	}
	if _, rpcErr := b.try("plain", "alice", nil, "tools/call", map[string]any{"name": "search_tools", "arguments": map[string]any{"query": "message"}}); !strings.Contains(string(rpcErr), "-32602") {
		t.Errorf("search_tools where discovery is off: %s, want -32602", rpcErr)
	}
	// auto: search_tools still answers under the threshold (a client may have learnt of it).
	if names, _ := b.search("small", "alice", nil, map[string]any{"query": "send a message"}); len(names) == 0 || names[0] != "slack__create_message" {
		t.Errorf("search on small = %v", names)
	}
}

// Tool search's acceptance bar (the right tool in the top three), through the aggregator over ten real MCP servers.
func TestSearchFindsTheLabelledToolInTheTopThreeOverFiveHundredTools(t *testing.T) {
	b := startBig(t)
	raw, err := os.ReadFile(filepath.Join("..", "internal", "toolsearch", "testdata", "queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Queries []struct{ Query, Want string }
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	everyone := []string{"sales", "finance"}
	hits := 0
	for _, q := range f.Queries {
		names, _ := b.search("big", "frank", everyone, map[string]any{"query": q.Query, "limit": 3})
		if len(names) > 3 {
			t.Errorf("limit 3 gave %d results", len(names))
		}
		if slices.Contains(names, q.Want) {
			hits++
		}
	}
	rate := float64(hits) / float64(len(f.Queries))
	t.Logf("top-3 hit rate through the aggregator: %.1f%% (%d of %d)", 100*rate, hits, len(f.Queries))
	if rate < 0.9 {
		t.Errorf("top-3 hit rate %.1f%%, want at least 90%%", 100*rate)
	}
}

var countRE = regexp.MustCompile(`Search the (\d+) tools`)

func TestHiddenToolsNeverLeakThroughSearchOrItsCount(t *testing.T) {
	b := startBig(t)
	// What alice may not see: crm (sales only), billing's delete tools (finance only) and the
	// hidden github__delete_repository.
	var hidden []toolDef
	full := map[string]toolDef{}
	for _, c := range toolsearchtest.Catalog() {
		for _, tool := range c.Tools {
			name := c.Name + "__" + tool.Name
			full[name] = toolDef{Name: name, Description: tool.Description}
			if c.Name == "crm" || c.Name == "billing" && strings.HasPrefix(tool.Name, "delete_") || name == "github__delete_repository" {
				hidden = append(hidden, full[name])
			}
		}
	}
	if len(hidden) != 61 {
		t.Fatalf("%d hidden tools, want 61", len(hidden))
	}
	// Search for each hidden tool by its exact name, and by its own description.
	for _, h := range hidden {
		for _, q := range []string{h.Name, h.Description} {
			names, _ := b.search("big", "alice", []string{"eng"}, map[string]any{"query": q, "limit": 25})
			for _, n := range names {
				if _, ok := full[n]; !ok {
					t.Fatalf("result %q is not a catalog tool", n)
				}
				if slices.ContainsFunc(hidden, func(x toolDef) bool { return x.Name == n }) {
					t.Fatalf("alice's search for %q returned %s, which she may not see", q, n)
				}
			}
		}
	}
	// The count in search_tools' description is her view's, not the server's.
	m := countRE.FindStringSubmatch(b.list("big", "alice", "eng")[0].Description)
	if m == nil {
		t.Fatal("search_tools' description does not say how many tools it searches")
	}
	if n, _ := strconv.Atoi(m[1]); n != 500-61 {
		t.Errorf("alice's search_tools says it searches %d tools, want %d", n, 500-61)
	}
	// The same searches as a member of both groups do find them (the hidden one excepted), so
	// the check above could have failed.
	if names, _ := b.search("big", "frank", []string{"sales", "finance"}, map[string]any{"query": "delete customer billing"}); !slices.Contains(names, "billing__delete_customer") {
		t.Errorf("frank's search lacks billing__delete_customer: %v", names)
	}
	if names, _ := b.search("big", "frank", []string{"sales", "finance"}, map[string]any{"query": "github__delete_repository", "limit": 25}); slices.Contains(names, "github__delete_repository") {
		t.Error("a tool hidden on the virtual server was found")
	}
	// Views share indexes by content: alice and another member of eng use one, frank another.
	b.search("big", "erin", []string{"eng"}, map[string]any{"query": "issue"})
	if n := len(b.agg.state.Load().indexes.m); n != 2 {
		t.Errorf("%d indexes for two distinct views", n)
	}
}

func TestSearchToolsReportsBadArgumentsAsToolErrors(t *testing.T) {
	b := startBig(t)
	for _, args := range []map[string]any{
		{},
		{"query": ""},
		{"query": "issue", "limit": 0},
		{"query": "issue", "limit": 26},
		{"query": 7},
	} {
		if names, msg := b.search("big", "alice", nil, args); msg == "" {
			t.Errorf("arguments %v: results %v, want a tool error", args, names)
		}
	}
	if names, msg := b.search("big", "alice", nil, map[string]any{"query": "zzzz qqqq"}); msg != "" || len(names) != 0 {
		t.Errorf("a query matching nothing: %v %q, want no results and no error", names, msg)
	}
	var init struct{ Instructions string }
	json.Unmarshal(b.rpc("big", "alice", nil, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "0"}}), &init)
	if !strings.Contains(init.Instructions, "more than 40 tools") || !strings.Contains(init.Instructions, "search_tools") {
		t.Errorf("initialize instructions do not show the discovery mode: %q", init.Instructions)
	}
}

// BenchmarkSearchToolsOverFiveHundredTools measures one search_tools answer with the connectors'
// lists and the view's index cached: what remains is filtering the view by the tool policy (as
// tools/list does), keying the view and searching it.
func BenchmarkSearchToolsOverFiveHundredTools(b *testing.B) {
	big := startBig(b)
	args := map[string]any{"query": "refund a charge", "limit": 3}
	big.search("big", "alice", []string{"eng"}, args)
	b.ReportAllocs()
	for b.Loop() {
		big.search("big", "alice", []string{"eng"}, args)
	}
}

// Outside prefix mode always a connector's own tool may be named like a meta-tool; where
// discovery is on it is left out (extproc would take a call of it for the meta-tool's), and
// where discovery is off it is an ordinary tool.
func TestAConnectorToolNamedLikeAMetaToolIsLeftOutWhereDiscoveryIsOn(t *testing.T) {
	odd := toolsearchtest.Connector{Name: "odd", Tools: []toolsearchtest.Tool{
		{Name: "call_tool", Description: "Call a phone number."},
		{Name: "ping_host", Description: "Ping a host."},
	}}
	b := startAggregator(t, []toolsearchtest.Connector{odd}, `
virtual_servers:
  - {name: on, connectors: [odd], prefix: {mode: never}, tools: {discovery: search, pinned: [ping_host]}}
  - {name: off, connectors: [odd], prefix: {mode: never}}
`)
	if got := toolNamesOf(b.list("on", "alice")); !slices.Equal(got, []string{"search_tools", "call_tool", "ping_host"}) {
		t.Errorf("discovery on: %v", got)
	}
	if names, _ := b.search("on", "alice", nil, map[string]any{"query": "call a phone number"}); len(names) != 0 {
		t.Errorf("the connector's call_tool was found: %v", names)
	}
	if m := countRE.FindStringSubmatch(b.list("on", "alice")[0].Description); m == nil || m[1] != "1" {
		t.Errorf("search_tools counts %v tools, want 1", m)
	}
	if got := toolNamesOf(b.list("off", "alice")); !slices.Equal(got, []string{"call_tool", "ping_host"}) {
		t.Errorf("discovery off: %v", got)
	}
}

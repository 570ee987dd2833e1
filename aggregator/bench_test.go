package aggregator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/cputime"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// Sizes of the benchmark's virtual server: a team bundling many connectors with many tools each.
const (
	benchConnectors = 10
	benchTools      = 100
)

// benchToolsConfig is a virtual server over benchConnectors connectors, with renames, a hidden
// tool and access rules, so that merging, renaming and policy filtering all have work to do.
func benchToolsConfig() string {
	var b strings.Builder
	b.WriteString("connectors:\n")
	for i := range benchConnectors {
		fmt.Fprintf(&b, "  - {name: c%d, url: \"http://127.0.0.1:1/mcp\"}\n", i)
	}
	b.WriteString("virtual_servers:\n  - name: eng\n    connectors:\n")
	for i := range benchConnectors {
		fmt.Fprintf(&b, "      - name: c%d\n        tools:\n          tool_1: {name: renamed_1, description: \"Renamed.\"}\n          tool_2: {hidden: true}\n", i)
	}
	b.WriteString("    access:\n      tools:\n        \"c1__*\": [admins]\n        \"c2__tool_3*\": [eng]\n")
	return b.String()
}

// benchToolList is one connector's cached list: tools as real servers describe them.
func benchToolList() []map[string]json.RawMessage {
	items := make([]map[string]json.RawMessage, benchTools)
	for i := range items {
		items[i] = map[string]json.RawMessage{
			"name":        json.RawMessage(fmt.Sprintf("%q", fmt.Sprintf("tool_%d", i))),
			"description": json.RawMessage(`"Does one thing with the given query and returns what it found, as text."`),
			"inputSchema": json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"What to look for."},"limit":{"type":"integer","minimum":1}},"required":["query"]}`),
		}
	}
	return items
}

// BenchmarkToolsList is a tools/list answered by the aggregator from cached connector lists
// (10 connectors × 100 tools): merge, rename, hide, filter by the caller's policy, encode one
// page.
func BenchmarkToolsList(b *testing.B) {
	cfg, err := config.Load("bench.yaml", []byte(benchToolsConfig()))
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := identity.NewSigner([]byte(strings.Repeat("i", 32)))
	codec, _ := session.NewCodec([]byte(strings.Repeat("s", 32)), time.Hour)
	agg := NewServer("127.0.0.1:1", signer, codec, "bench", nil, zap.NewNop())
	commit, err := agg.Prepare(cfg)
	if err != nil {
		b.Fatal(err)
	}
	commit()
	for i := range benchConnectors {
		// Far in the future: the benchmark measures cached lists, never a fan-out.
		agg.state.Load().lists.put(fmt.Sprintf("c%d", i), "tools/list", benchToolList(), time.Now().Add(time.Hour))
	}
	signed, err := signer.Sign(identity.Identity{Subject: "alice", Groups: []string{"eng"}, VirtualServer: "eng", Expiry: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		b.Fatal(err)
	}
	// Hidden: one per connector; denied: all of c1 except its hidden tool.
	want := benchConnectors*(benchTools-1) - (benchTools - 1)
	list := func(cursor string) *httptest.ResponseRecorder {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
		if cursor != "" {
			body = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"` + cursor + `"}}`
		}
		r := httptest.NewRequest(http.MethodPost, "/v/eng/mcp", strings.NewReader(body))
		r.Header.Set(headers.Identity, signed)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		agg.ServeHTTP(w, r)
		return w
	}
	// Every page together holds exactly the tools this caller may see. Each request merges and
	// filters all of them, whichever page it answers; the benchmark asks for the first.
	seen, cursor := 0, ""
	for {
		var res struct {
			Result struct {
				Tools      []json.RawMessage
				NextCursor string
			} `json:"result"`
		}
		w := list(cursor)
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || len(res.Result.Tools) == 0 {
			b.Fatalf("tools/list: %v: %.200s", err, w.Body.Bytes())
		}
		seen += len(res.Result.Tools)
		if cursor = res.Result.NextCursor; cursor == "" {
			break
		}
	}
	if seen != want {
		b.Fatalf("tools/list: %d tools over all pages, want %d", seen, want)
	}
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		if w := list(""); w.Code != http.StatusOK || w.Body.Len() < 100*100 {
			b.Fatalf("tools/list: HTTP %d, %d bytes", w.Code, w.Body.Len())
		}
	}
}

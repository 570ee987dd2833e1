package toolsearch_test

import (
	"encoding/json"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/toolsearch"
)

// Tool definitions come from connectors and queries from clients: neither may make the index
// panic, return more than asked, or return a tool out of range or out of order.
func FuzzSearch(f *testing.F) {
	f.Add("github__create_issue", "Open an issue.", `{"type":"object","properties":{"repo":{"description":"owner/name"}}}`, "open issue", 3)
	f.Add("getHTTPStatus", "", `[]`, "status", 1)
	f.Add("ü__ß", "\xff\xfe", `{"properties":7}`, "ü ß", 0)
	f.Fuzz(func(t *testing.T, name, description, schema, query string, limit int) {
		tools := []toolsearch.Tool{
			{Name: name, Description: description, InputSchema: json.RawMessage(schema)},
			{Name: "notes__add_note", Description: "Store a note " + query},
		}
		limit %= 10
		rs := toolsearch.Build(tools).Search(query, limit)
		if len(rs) > max(limit, 0) {
			t.Fatalf("%d results for limit %d", len(rs), limit)
		}
		for i, r := range rs {
			if r.Index < 0 || r.Index >= len(tools) || !(r.Score > 0) {
				t.Fatalf("result %+v", r)
			}
			if i > 0 && rs[i-1].Score < r.Score {
				t.Fatalf("results out of order: %+v", rs)
			}
		}
		for _, term := range toolsearch.Terms(query) {
			if term == "" {
				t.Fatalf("an empty term from %q", query)
			}
		}
	})
}

package toolsearch

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// realServer is one file of testdata/realservers: a real MCP server's tools/list, as published.
type realServer struct {
	Connector string `json:"connector"`
	Source    string `json:"source"`
	Tools     []struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"inputSchema"`
	} `json:"tools"`
}

// labelledQuery is one query of an evaluation set: found when any tool of Want is in the top k.
type labelledQuery struct {
	Category string   `json:"category"`
	Query    string   `json:"query"`
	Want     []string `json:"want"`
}

// realCatalog is every tool of testdata/realservers as a virtual server lists it: connector
// prefix, double underscore, the server's own name.
func realCatalog(t testing.TB) []Tool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "realservers", "*.json"))
	if err != nil || len(files) < 8 {
		t.Fatalf("want at least eight real servers' tool lists in testdata/realservers, got %d (%v)", len(files), err)
	}
	var tools []Tool
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s realServer
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if s.Connector == "" || s.Source == "" || len(s.Tools) == 0 {
			t.Fatalf("%s: a real server's file names its connector and source and lists its tools", f)
		}
		for _, tool := range s.Tools {
			tools = append(tools, Tool{Name: s.Connector + "__" + tool.Name, Description: tool.Description, InputSchema: tool.InputSchema})
		}
	}
	return tools
}

func loadQueries(t testing.TB, name string) []labelledQuery {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Queries []labelledQuery `json:"queries"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return set.Queries
}

// scoreCard counts, per category, the queries whose labelled tool is first, in the top three
// and in the top five.
type scoreCard struct {
	n, top1, top3, top5 map[string]int
	misses              []string
}

func evaluate(t testing.TB, rank func(query string, limit int) []string, queries []labelledQuery, known func(string) bool) scoreCard {
	t.Helper()
	sc := scoreCard{n: map[string]int{}, top1: map[string]int{}, top3: map[string]int{}, top5: map[string]int{}}
	for _, q := range queries {
		for _, w := range q.Want {
			if !known(w) {
				t.Fatalf("query %q is labelled with %q, which no server lists", q.Query, w)
			}
		}
		got := rank(q.Query, 5)
		pos := slices.IndexFunc(got, func(name string) bool { return slices.Contains(q.Want, name) })
		for _, c := range []string{q.Category, "all"} {
			sc.n[c]++
			if pos == 0 {
				sc.top1[c]++
			}
			if pos >= 0 && pos < 3 {
				sc.top3[c]++
			}
			if pos >= 0 {
				sc.top5[c]++
			}
		}
		if pos < 0 || pos >= 3 {
			sc.misses = append(sc.misses, fmt.Sprintf("%-13s %q: want %v, got %v", q.Category, q.Query, q.Want, got))
		}
	}
	return sc
}

func (sc scoreCard) rate(m map[string]int, c string) float64 {
	return 100 * float64(m[c]) / float64(sc.n[c])
}

func (sc scoreCard) String() string {
	var cats []string
	for c := range sc.n {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	var b strings.Builder
	for _, c := range cats {
		fmt.Fprintf(&b, "%-13s n=%3d  top-1 %5.1f %%  top-3 %5.1f %%  top-5 %5.1f %%\n", c, sc.n[c], sc.rate(sc.top1, c), sc.rate(sc.top3, c), sc.rate(sc.top5, c))
	}
	return b.String()
}

func indexRanker(tools []Tool) (func(string, int) []string, func(string) bool) {
	ix := Build(tools)
	names := map[string]bool{}
	for _, tool := range tools {
		names[tool.Name] = true
	}
	return func(q string, limit int) []string {
		var out []string
		for _, r := range ix.Search(q, limit) {
			out = append(out, tools[r.Index].Name)
		}
		return out
	}, func(n string) bool { return names[n] }
}

// Real servers' tools, with queries written before the ranker was tuned. The bar the ranker is
// held to is top-3 ≥ 92 % and top-1 ≥ 75 % over the whole held-out set, with top-3 ≥ 85 % in
// every kind of query; it is not met yet (the synonym and non-obvious kinds fall short: what they
// need is meaning, not words). Until it is, this test keeps what has been reached from
// regressing, and logs every miss.
func TestRealServersHeldOutQueriesFindTheirTool(t *testing.T) {
	tools := realCatalog(t)
	rank, known := indexRanker(tools)
	sc := evaluate(t, rank, loadQueries(t, "search-eval.json"), known)
	t.Logf("held-out set over %d real tools:\n%s", len(tools), sc)
	for _, m := range sc.misses {
		t.Log("miss: " + m)
	}
	floors := []struct {
		what     string
		got, min float64
	}{
		{"top-3, all", sc.rate(sc.top3, "all"), 91},
		{"top-1, all", sc.rate(sc.top1, "all"), 83},
		{"top-3, plain", sc.rate(sc.top3, "plain"), 100},
		{"top-3, cross-system", sc.rate(sc.top3, "cross-system"), 95},
		{"top-3, synonym", sc.rate(sc.top3, "synonym"), 79},
		{"top-3, non-obvious", sc.rate(sc.top3, "non-obvious"), 76},
	}
	for _, f := range floors {
		if f.got < f.min {
			t.Errorf("%s: %.1f %%, below the %.0f %% already reached", f.what, f.got, f.min)
		}
	}
}

// The tuning set is reported, not judged: it is what the ranker was tuned on.
func TestRealServersTuningQueries(t *testing.T) {
	rank, known := indexRanker(realCatalog(t))
	sc := evaluate(t, rank, loadQueries(t, "search-tuning.json"), known)
	t.Logf("tuning set:\n%s", sc)
	for _, m := range sc.misses {
		t.Log("miss: " + m)
	}
}

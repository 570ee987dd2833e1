package toolsearchtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
)

// The evaluation of tool search over real servers' tools, shared by the ranker's own test and
// the end-to-end test that asks the same questions through Envoy and vmcp: the catalog, the
// labelled queries, the score card and the bar it is held to.

// testdata is internal/toolsearch/testdata, found from this file so that any package's test
// can read it.
func testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// RealServers reads testdata/realservers: fourteen real MCP servers' tools/list as published,
// each file naming its source and version, as connectors named as a virtual server would name
// them.
func RealServers() ([]Connector, error) {
	files, err := filepath.Glob(filepath.Join(testdata(), "realservers", "*.json"))
	if err != nil || len(files) < 8 {
		return nil, fmt.Errorf("want at least eight real servers' tool lists in testdata/realservers, got %d (%v)", len(files), err)
	}
	var out []Connector
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var s struct {
			Connector string `json:"connector"`
			Source    string `json:"source"`
			// encoding/json matches inputSchema to InputSchema: field names match whatever their case.
			Tools []Tool `json:"tools"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if s.Connector == "" || s.Source == "" || len(s.Tools) == 0 {
			return nil, fmt.Errorf("%s: a real server's file names its connector and source and lists its tools", f)
		}
		out = append(out, Connector{Name: s.Connector, Tools: s.Tools})
	}
	return out, nil
}

// PrefixedNames is every tool name of connectors as a virtual server lists it: connector,
// double underscore, the server's own name.
func PrefixedNames(connectors []Connector) map[string]bool {
	names := map[string]bool{}
	for _, c := range connectors {
		for _, t := range c.Tools {
			names[c.Name+"__"+t.Name] = true
		}
	}
	return names
}

// LabelledQuery is one query of an evaluation set: found when any tool of Want is ranked.
type LabelledQuery struct {
	Category string   `json:"category"`
	Query    string   `json:"query"`
	Want     []string `json:"want"`
}

// Held-out and tuning sets. The held-out set was written before the ranker was tuned and is
// never used to tune it; the tuning set is what the ranker may be tuned on.
const (
	HeldOut = "search-eval.json"
	Tuning  = "search-tuning.json"
)

// Queries reads a labelled query set of testdata.
func Queries(name string) ([]LabelledQuery, error) {
	raw, err := os.ReadFile(filepath.Join(testdata(), name))
	if err != nil {
		return nil, err
	}
	var set struct {
		Queries []LabelledQuery `json:"queries"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return set.Queries, nil
}

// ScoreCard counts, per category and over "all", the queries whose labelled tool is first, in
// the top three and in the top five.
type ScoreCard struct {
	n, top1, top3, top5 map[string]int
	misses              []string
}

// Ranked is how many results Evaluate asks for.
const Ranked = 5

// Evaluate asks rank for the Ranked best tools of each query. A label that names no tool of
// known is an error: the set would measure nothing.
func Evaluate(queries []LabelledQuery, known map[string]bool, rank func(query string) ([]string, error)) (ScoreCard, error) {
	sc := ScoreCard{n: map[string]int{}, top1: map[string]int{}, top3: map[string]int{}, top5: map[string]int{}}
	for _, q := range queries {
		for _, w := range q.Want {
			if !known[w] {
				return sc, fmt.Errorf("query %q is labelled with %q, which no server lists", q.Query, w)
			}
		}
		got, err := rank(q.Query)
		if err != nil {
			return sc, fmt.Errorf("query %q: %w", q.Query, err)
		}
		pos := slices.IndexFunc(got, func(name string) bool { return slices.Contains(q.Want, name) })
		for _, c := range []string{q.Category, "all"} {
			sc.n[c]++
			if pos == 0 {
				sc.top1[c]++
			}
			if pos >= 0 && pos < 3 {
				sc.top3[c]++
			}
			if pos >= 0 && pos < Ranked {
				sc.top5[c]++
			}
		}
		if pos < 0 || pos >= 3 {
			sc.misses = append(sc.misses, fmt.Sprintf("%-13s %q: want %v, got %v", q.Category, q.Query, q.Want, got))
		}
	}
	return sc, nil
}

// Top1 and Top3 are the shares, in percent, of a category's queries ("all" for every query)
// found first and in the top three.
func (sc ScoreCard) Top1(category string) float64 { return sc.rate(sc.top1, category) }

// Top3: see Top1.
func (sc ScoreCard) Top3(category string) float64 { return sc.rate(sc.top3, category) }

func (sc ScoreCard) rate(m map[string]int, c string) float64 {
	if sc.n[c] == 0 {
		return 0
	}
	return 100 * float64(m[c]) / float64(sc.n[c])
}

// Misses are the queries whose labelled tool is not in the top three.
func (sc ScoreCard) Misses() []string { return sc.misses }

func (sc ScoreCard) categories() []string {
	var cats []string
	for c := range sc.n {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	return cats
}

func (sc ScoreCard) String() string {
	var b strings.Builder
	for _, c := range sc.categories() {
		fmt.Fprintf(&b, "%-13s n=%3d  top-1 %5.1f %%  top-3 %5.1f %%  top-5 %5.1f %%\n", c, sc.n[c], sc.Top1(c), sc.Top3(c), sc.rate(sc.top5, c))
	}
	return b.String()
}

// The bar tool search is held to over the held-out set: the labelled tool in the top three for
// at least 92 % of all queries and 85 % of each category's, and first for at least 75 %.
const (
	BarTop3         = 92.0
	BarTop1         = 75.0
	BarCategoryTop3 = 85.0
)

// BelowBar says where the card falls short of the bar; nothing when it meets it.
func (sc ScoreCard) BelowBar() []string {
	var short []string
	check := func(what string, got, bar float64) {
		if got < bar {
			short = append(short, fmt.Sprintf("%s %.1f %%, below the bar of %.0f %%", what, got, bar))
		}
	}
	check("top-3 over all queries", sc.Top3("all"), BarTop3)
	check("top-1 over all queries", sc.Top1("all"), BarTop1)
	for _, c := range sc.categories() {
		if c != "all" {
			check("top-3 of "+c+" queries", sc.Top3(c), BarCategoryTop3)
		}
	}
	return short
}

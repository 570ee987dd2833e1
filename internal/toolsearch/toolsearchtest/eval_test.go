package toolsearchtest

import (
	"slices"
	"strings"
	"testing"
)

func TestTheBarFailsAScoreCardBelowIt(t *testing.T) {
	known := map[string]bool{"a__x": true, "a__y": true}
	var queries []LabelledQuery
	for i := range 10 {
		category := "plain"
		if i >= 6 {
			category = "synonym"
		}
		queries = append(queries, LabelledQuery{Category: category, Query: string(rune('a' + i)), Want: []string{"a__x"}})
	}
	perfect := func(string) ([]string, error) { return []string{"a__x", "a__y"}, nil }
	sc, err := Evaluate(queries, known, perfect)
	if err != nil || len(sc.BelowBar()) != 0 || sc.Top1("all") != 100 {
		t.Fatalf("every query answered first: %v %v\n%s", err, sc.BelowBar(), sc)
	}
	// One synonym query of four missed: 90 % over all, 75 % of synonyms, under the bar twice.
	oneMiss := func(q string) ([]string, error) {
		if q == "j" {
			return []string{"a__y"}, nil
		}
		return perfect(q)
	}
	sc, _ = Evaluate(queries, known, oneMiss)
	short := sc.BelowBar()
	if len(short) != 2 || !strings.Contains(short[0], "top-3 over all") || !strings.Contains(short[1], "synonym") {
		t.Errorf("one synonym miss: %q", short)
	}
	if !slices.ContainsFunc(sc.Misses(), func(m string) bool { return strings.Contains(m, `"j"`) }) {
		t.Errorf("misses %v lack the query", sc.Misses())
	}
	if _, err := Evaluate([]LabelledQuery{{Query: "q", Want: []string{"a__z"}}}, known, perfect); err == nil {
		t.Error("a label naming no tool was accepted")
	}
}

func TestTheRealServersAndQuerySetsLoad(t *testing.T) {
	connectors, err := RealServers()
	if err != nil {
		t.Fatal(err)
	}
	names := PrefixedNames(connectors)
	if len(connectors) != 14 || len(names) != 281 {
		t.Errorf("%d servers, %d tools; want 14 and 281", len(connectors), len(names))
	}
	for _, set := range []string{HeldOut, Tuning} {
		qs, err := Queries(set)
		if err != nil || len(qs) < 100 {
			t.Errorf("%s: %d queries, %v", set, len(qs), err)
		}
	}
}

package toolsearch

import (
	"slices"
	"strings"
	"testing"
)

// Every line of the lexicon says something: a malformed one would be skipped without a word.
func TestEveryLexiconLineMeansSomething(t *testing.T) {
	for i, line := range strings.Split(lexicon, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		targets, sources, ok := strings.Cut(line, " <- ")
		if !ok {
			if members := strings.Split(line, "="); len(members) < 2 {
				t.Errorf("line %d %q: neither targets <- sources nor a = b", i+1, line)
			}
			continue
		}
		for _, alt := range strings.Split(targets, "|") {
			if len(Terms(alt)) == 0 {
				t.Errorf("line %d: target %q has no term", i+1, alt)
			}
		}
		for _, s := range strings.Split(sources, ",") {
			if len(phraseWords(s)) == 0 {
				t.Errorf("line %d: an empty source", i+1)
			}
		}
	}
	if !slices.ContainsFunc(wordMeans["ticket"], func(m []string) bool { return slices.Equal(m, []string{"issu"}) }) {
		t.Errorf("ticket means %v, want issue among them", wordMeans["ticket"])
	}
}

func TestAQueryReadsPhrasesShapesAndMeanings(t *testing.T) {
	ix := Build([]Tool{{Name: "k8s__kubectl_scale", Description: "Scale a deployment"}})
	q := parseQuery("please spin up the web deployment for PROJ-12, see https://example.com/x", ix)
	var meanings []string
	for _, g := range q.groups {
		for _, m := range g {
			meanings = append(meanings, strings.Join(m.terms, " "))
		}
	}
	for _, want := range []string{"url", "issu", "scal", "deployment"} {
		if !slices.Contains(meanings, want) {
			t.Errorf("meanings %v lack %q", meanings, want)
		}
	}
	// "spin up" stands for scaling: neither "spin" nor the URL's or the key's words are terms.
	for _, not := range []string{"spin", "proj", "exampl", "com"} {
		if slices.Contains(meanings, not) {
			t.Errorf("meanings %v hold %q", meanings, not)
		}
	}
	if q.intent != intentWrite {
		t.Errorf("intent %d, want write", q.intent)
	}
}

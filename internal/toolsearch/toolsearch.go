// Package toolsearch ranks a virtual server's tools for a free-text query, so that a client of a
// server with hundreds of tools can find the few it needs instead of reading every definition.
//
// The index is BM25 over one bag of words per tool, built from its name (split on _ - . and
// camelCase, so the connector prefix counts too), its description and its input schema's
// parameter names and descriptions, each field weighted (BM25F-style). An Index is immutable:
// build one per view of the tools (after per-caller filtering) and share it between searches.
//
// Why not a library: bleve and friends are search engines with their own storage, analyzers and
// dozens of dependencies, built for millions of documents. A tool list is a few thousand short
// documents held in memory and rebuilt when a list changes; two hundred lines of BM25 do that in
// microseconds and can be read in one sitting.
package toolsearch

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
)

// Tool is one searchable tool, as the client sees it.
type Tool struct {
	Name        string
	Description string
	// InputSchema is the tool's JSON Schema; its top-level properties' names and descriptions
	// are indexed. Malformed schemas are indexed by name and description only.
	InputSchema json.RawMessage
}

// Result is one ranked tool: its position in the slice given to Build, and its score.
type Result struct {
	Index int
	Score float64
}

// Field weights: a word in the tool's name says more about what it does than one in a long
// description, and a parameter name ("channel", "invoice_id") more than a parameter's prose.
const (
	weightName      = 2.5
	weightDesc      = 1.0
	weightParam     = 1.5
	weightParamDesc = 0.5
)

// BM25 parameters, the customary values.
const (
	k1 = 1.2
	b  = 0.75
)

// prefixWeight scales the score of a query word that matches no indexed word exactly but starts
// several ("repo" → "repository"), so that an exact match always counts for more.
const (
	prefixWeight   = 0.7
	minPrefixLen   = 3
	maxPrefixTerms = 8
)

// Index is an immutable BM25 index over a list of tools.
type Index struct {
	names []string
	// postings holds, per word, each tool containing it with its precomputed BM25 weight.
	postings map[string][]posting
	// vocab is every indexed word, sorted, for prefix matches.
	vocab []string
}

type posting struct {
	doc    int32
	weight float32
}

// Build indexes tools. Results refer to tools by their position in this slice.
func Build(tools []Tool) *Index {
	ix := &Index{names: make([]string, len(tools)), postings: map[string][]posting{}}
	tfs := make([]map[string]float64, len(tools))
	lengths := make([]float64, len(tools))
	var total float64
	for i, t := range tools {
		ix.names[i] = t.Name
		tf := map[string]float64{}
		add := func(text string, w float64) {
			for _, term := range Terms(text) {
				tf[term] += w
				lengths[i] += w
			}
		}
		add(t.Name, weightName)
		add(t.Description, weightDesc)
		for _, p := range schemaParams(t.InputSchema) {
			add(p.name, weightParam)
			add(p.description, weightParamDesc)
		}
		tfs[i] = tf
		total += lengths[i]
	}
	n := float64(len(tools))
	avg := 1.0
	if n > 0 && total > 0 {
		avg = total / n
	}
	df := map[string]int{}
	for _, tf := range tfs {
		for term := range tf {
			df[term]++
		}
	}
	for i, tf := range tfs {
		norm := k1 * (1 - b + b*lengths[i]/avg)
		for term, f := range tf {
			idf := math.Log(1 + (n-float64(df[term])+0.5)/(float64(df[term])+0.5))
			ix.postings[term] = append(ix.postings[term], posting{doc: int32(i), weight: float32(idf * f * (k1 + 1) / (f + norm))})
		}
	}
	ix.vocab = make([]string, 0, len(ix.postings))
	for term := range ix.postings {
		ix.vocab = append(ix.vocab, term)
	}
	sort.Strings(ix.vocab)
	return ix
}

// Len is the number of tools indexed.
func (ix *Index) Len() int { return len(ix.names) }

// Search returns at most limit tools matching query, best first. Equal scores are ordered by
// name, so the same index and query always give the same answer.
func (ix *Index) Search(query string, limit int) []Result {
	if limit <= 0 || len(ix.names) == 0 {
		return nil
	}
	scores := make([]float64, len(ix.names))
	seen := map[string]bool{}
	for _, term := range Terms(query) {
		if seen[term] {
			continue
		}
		seen[term] = true
		if ps, ok := ix.postings[term]; ok {
			accumulate(scores, ps, 1)
			continue
		}
		for _, expansion := range ix.prefixed(term) {
			accumulate(scores, ix.postings[expansion], prefixWeight)
		}
	}
	var results []Result
	for i, s := range scores {
		if s > 0 {
			results = append(results, Result{Index: i, Score: s})
		}
	}
	slices.SortFunc(results, func(x, y Result) int {
		switch {
		case x.Score > y.Score:
			return -1
		case x.Score < y.Score:
			return 1
		}
		return strings.Compare(ix.names[x.Index], ix.names[y.Index])
	})
	if len(results) > limit {
		results = results[:limit]
	}
	return results
}

func accumulate(scores []float64, ps []posting, w float64) {
	for _, p := range ps {
		scores[p.doc] += w * float64(p.weight)
	}
}

// prefixed returns the shortest indexed words that start with term, for a term of at least
// minPrefixLen letters that is not itself indexed.
func (ix *Index) prefixed(term string) []string {
	if len(term) < minPrefixLen {
		return nil
	}
	var out []string
	for i := sort.SearchStrings(ix.vocab, term); i < len(ix.vocab) && strings.HasPrefix(ix.vocab[i], term); i++ {
		out = append(out, ix.vocab[i])
	}
	if len(out) > maxPrefixTerms {
		slices.SortStableFunc(out, func(x, y string) int { return len(x) - len(y) })
		out = out[:maxPrefixTerms]
	}
	return out
}

type param struct{ name, description string }

// schemaParams reads the top-level properties of a JSON Schema object.
func schemaParams(schema json.RawMessage) []param {
	if len(schema) == 0 {
		return nil
	}
	var s struct {
		Properties map[string]struct {
			Description string `json:"description"`
		} `json:"properties"`
	}
	if json.Unmarshal(schema, &s) != nil {
		return nil
	}
	out := make([]param, 0, len(s.Properties))
	for name, p := range s.Properties {
		out = append(out, param{name: name, description: p.Description})
	}
	return out
}

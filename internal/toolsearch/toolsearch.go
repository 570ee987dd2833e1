// Package toolsearch ranks a virtual server's tools for a free-text query, so that a client of a
// server with hundreds of tools can find the few it needs instead of reading every definition.
//
// The index is BM25 over one bag of words per tool, built from its name (split on _ - . and
// camelCase, so the connector prefix counts too), its description and its input schema's
// parameter names and descriptions, each field weighted (BM25F-style). A query is read for
// what a bag of words misses:
//   - the systems it names ("GitHub", "Jira", "the browser"): the leading words of tool names
//     shared by many tools of one connector. Naming a system narrows the search to its tools and
//     then ranks them by the rest of the query, so a generic tool of that system does not win
//     on the system's name alone;
//   - whether it reads or changes ("comment on…", "file an issue" vs "which…", "bugs assigned to
//     me"): a tool whose own verb does the other thing counts for less;
//   - what it means in the tools' words (lexicon.go): a curated lexicon of the domains MCP
//     tools serve — issue trackers, code hosting, chat, documents, Kubernetes, files, time,
//     memory, CRMs, error tracking, browser automation — maps a word to the words tools use
//     ("ticket" → issue, "tunnel" → port forward), and a phrase to what it stands for ("spin
//     up" → scale, "working copy" → unstaged). Each word the query says is one group, scored by
//     its best meaning, so a word with many synonyms counts no more than one with none;
//   - what it names by shape: a URL, an issue key ("PROJ-12"), a #channel, a file name;
//   - compounds ("work log" → worklog).
//
// A tool whose own name the query covers ("get a Jira issue" → jira_get_issue, not
// jira_get_issue_watchers) ranks above one that merely shares words with it; one that matches
// few of the query's groups, or whose system matches few of them, ranks below one that answers
// the whole request.
//
// An Index is immutable: build one per view of the tools (after per-caller filtering) and share
// it between searches.
//
// Why not a library: bleve and friends are search engines with their own storage, analyzers and
// dozens of dependencies, built for millions of documents. A tool list is a few thousand short
// documents held in memory and rebuilt when a list changes; a few hundred lines of BM25 do that in
// microseconds and can be read in one sitting. Why not an embedding model: the sentence-embedding
// module the Go proxy has (all-minilm-l6-v2-go) runs through the ONNX Runtime shared library over
// cgo, and its module holds a Git LFS pointer where the weights should be, so it does not ship as
// a Go module; a lexicon of the domains can be read, reviewed and extended.
//
// How it was measured: testdata/realservers holds the tools of fourteen real MCP servers as their
// tools/list gives them, and testdata/search-eval.json 111 labelled queries written before the
// ranker was tuned (TestRealServersHeldOutQueriesFindTheirTool); tuning used only
// testdata/search-tuning.json (225 queries, 155 of them written tool by tool from the catalog).
package toolsearch

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
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
// description or a parameter's name ("channel", "invoice_id"), and those more than a
// parameter's prose.
const (
	weightName      = 2.5
	weightDesc      = 1.0
	weightParam     = 1.0
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
	toolNames []string
	// systems are the terms that name a system: every tool name's first word (its connector)
	// and a second word shared by a large share of one connector's tools ("jira", "browser").
	systems map[string]bool
	// toolSystems, nameTerms and class are per tool: the system terms in its name, the other
	// terms of its name, and what its own verb does.
	toolSystems [][]string
	nameTerms   [][]string
	class       []intent
	// family is per tool the system it belongs to most narrowly ("atlassian jira"), as an
	// index below nFamilies.
	family    []int32
	nFamilies int
	// postings holds, per word, each tool containing it with its precomputed BM25 weight.
	postings map[string][]posting
	// vocab is every indexed word, sorted, for prefix matches.
	vocab []string
	// scratches holds *scratch for reuse: a search needs several arrays the size of the index,
	// and allocating them anew for every search_tools call was most of a search's garbage.
	scratches sync.Pool
}

type posting struct {
	doc    int32
	weight float32
}

// Build indexes tools. Results refer to tools by their position in this slice.
func Build(tools []Tool) *Index {
	ix := &Index{toolNames: make([]string, len(tools)), postings: map[string][]posting{}}
	// Names and descriptions are read for the systems and then for the words: split them once.
	names, descs := make([][]string, len(tools)), make([][]string, len(tools))
	for i, t := range tools {
		ix.toolNames[i] = t.Name
		names[i], descs[i] = Terms(t.Name), Terms(t.Description)
	}
	ix.findSystems(names, descs)
	ix.findFamilies()
	tfs := make([]map[string]float64, len(tools))
	lengths := make([]float64, len(tools))
	var total float64
	for i, t := range tools {
		tf := map[string]float64{}
		add := func(terms []string, w float64) {
			for _, term := range terms {
				tf[term] += w
				lengths[i] += w
			}
		}
		add(names[i], weightName)
		add(descs[i], weightDesc)
		for _, p := range schemaParams(t.InputSchema) {
			add(Terms(p.name), weightParam)
			add(Terms(p.description), weightParamDesc)
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
func (ix *Index) Len() int { return len(ix.toolNames) }

// Search returns at most limit tools matching query, best first. Equal scores are ordered by
// name, so the same index and query always give the same answer.
func (ix *Index) Search(query string, limit int) []Result {
	if limit <= 0 || len(ix.toolNames) == 0 {
		return nil
	}
	q := parseQuery(query, ix)
	if len(q.groups) == 0 {
		// A query that only names systems ("github") ranks by those names.
		for _, t := range q.rawTerms {
			q.groups = append(q.groups, group{{[]string{t}, 1}})
		}
		q.systems = nil
	}
	if len(q.groups) == 0 {
		return nil
	}
	s, _ := ix.scratches.Get().(*scratch)
	if s == nil {
		s = ix.newScratch()
	}
	top := ix.best(ix.rank(s, q), limit)
	ix.scratches.Put(s)
	return top
}

// best returns the limit highest-scoring results, best first, equal scores by name. Most tools
// score something once a query's words are expanded, so it selects before sorting.
func (ix *Index) best(results []Result, limit int) []Result {
	better := func(x, y Result) bool {
		if x.Score != y.Score {
			return x.Score > y.Score
		}
		return ix.toolNames[x.Index] < ix.toolNames[y.Index]
	}
	top := make([]Result, 0, min(limit, len(results)))
	for _, r := range results {
		if len(top) == limit && !better(r, top[len(top)-1]) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return better(r, top[i]) })
		if len(top) < limit {
			top = append(top, Result{})
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = r
	}
	return top
}

// rank scores every tool for q: the sum of its groups' scores, then
//   - more for a tool whose own name the query covers;
//   - less for a tool that matches few of the query's groups ("coordination"): one strong word
//     shared with the query does not beat a tool that answers the whole request;
//   - less for a tool whose system (its family: "atlassian jira", "slack") matches few of the
//     query's groups in any of its tools: a query that talks of tickets, sprints and
//     worklogs is about an issue tracker even where it names none;
//   - less for a tool that reads where the query changes, or the other way round.
func (ix *Index) rank(s *scratch, q parsedQuery) []Result {
	clear(s.famHits)
	for _, g := range q.groups {
		ix.scoreGroup(s, g)
		s.stamp++
		for _, d := range s.touched {
			s.scores[d] += s.best[d]
			s.best[d] = 0
			s.groupsHit[d]++
			if f := ix.family[d]; s.famStamp[f] != s.stamp {
				s.famStamp[f] = s.stamp
				s.famHits[f]++
			}
		}
		s.touched = s.touched[:0]
	}
	ng := float64(len(q.groups))
	results := s.results[:0]
	for i := range s.scores {
		// Read, and leave zero for the next search.
		score, hit := s.scores[i], s.groupsHit[i]
		s.scores[i], s.groupsHit[i] = 0, 0
		if len(q.systems) > 0 && !ix.inSystems(i, q.systems) {
			continue
		}
		if score <= 0 {
			continue
		}
		score *= 1 + coverageWeight*ix.coverage(i, s.matched)
		score *= math.Sqrt(float64(hit) / ng)
		score *= math.Sqrt(float64(s.famHits[ix.family[i]]) / ng)
		if q.intent != intentUnknown && ix.class[i] != intentUnknown && ix.class[i] != q.intent {
			score *= otherIntentWeight
		}
		results = append(results, Result{Index: i, Score: score})
	}
	clear(s.matched)
	s.results = results
	return results
}

// scratch is one search's working memory, per tool and per family, reused from group to group
// and from search to search. Between searches every per-tool array is zero, matched is empty
// and famStamp is below stamp.
type scratch struct {
	scores    []float64 // the query's score per tool: the sum of its groups'
	groupsHit []int32   // how many of the query's groups each tool matched
	best      []float64 // the group's score per tool: its best meaning's
	sum       []float64 // one meaning's score per tool
	touched   []int32   // tools with a score in best
	inSum     []int32   // tools with a score in sum
	// famHits counts per family the groups any of its tools matched; famStamp is the group
	// (numbered by stamp, never reset) a family was last counted for, so it counts each once.
	famHits  []int32
	famStamp []int
	stamp    int
	// matched is how strongly the query matched each indexed word, for coverage.
	matched map[string]float64
	// results is rank's answer, which best reads before the scratch is reused.
	results []Result
}

func (ix *Index) newScratch() *scratch {
	n := len(ix.toolNames)
	return &scratch{
		scores: make([]float64, n), groupsHit: make([]int32, n), best: make([]float64, n), sum: make([]float64, n),
		famHits: make([]int32, ix.nFamilies), famStamp: make([]int, ix.nFamilies), matched: map[string]float64{},
	}
}

// scoreGroup scores each tool by the group's best meaning for it: the sum of that meaning's
// terms' BM25 weights, times the meaning's weight.
func (ix *Index) scoreGroup(s *scratch, g group) {
	for _, m := range g {
		for _, t := range m.terms {
			terms, w := []string{t}, m.w
			if _, ok := ix.postings[t]; !ok {
				// No tool says the word; the shortest words it starts ("repo" → repository).
				terms, w = ix.prefixed(t), m.w*prefixWeight
			}
			for _, term := range terms {
				s.matched[term] = max(s.matched[term], w)
				for _, p := range ix.postings[term] {
					if s.sum[p.doc] == 0 {
						s.inSum = append(s.inSum, p.doc)
					}
					s.sum[p.doc] += w * float64(p.weight)
				}
			}
		}
		for _, d := range s.inSum {
			if s.best[d] == 0 {
				s.touched = append(s.touched, d)
			}
			s.best[d] = max(s.best[d], s.sum[d])
			s.sum[d] = 0
		}
		s.inSum = s.inSum[:0]
	}
}

// coverageWeight is how much more a tool counts when the query covers every word of its own
// name; otherIntentWeight scales a tool that reads when the query changes, or the other way.
// Coordination and the family's share are taken by their square roots: a tool matching half
// the query keeps 71 % of its score, not half, as synonyms and phrases make groups unequal.
const (
	coverageWeight    = 1.5
	otherIntentWeight = 0.5
)

// coverage is the share of tool i's own name words (system words aside) the query matched,
// each counted by how strongly: a word the query says counts in full, one it means in part.
func (ix *Index) coverage(i int, matched map[string]float64) float64 {
	terms := ix.nameTerms[i]
	if len(terms) == 0 {
		return 0
	}
	n := 0.0
	for _, t := range terms {
		n += min(matched[t], 1)
	}
	return n / float64(len(terms))
}

// inSystems says whether tool i's name carries one of the systems.
func (ix *Index) inSystems(i int, systems []string) bool {
	for _, s := range ix.toolSystems[i] {
		if slices.Contains(systems, s) {
			return true
		}
	}
	return false
}

// systemShare is the share of one connector's tools that must start with the same word, after
// the connector's, for that word to name a system too ("jira_…", "confluence_…", "browser_…").
// maxForeign is how many other tools may use a system's word at all before it is too common to
// narrow a search by ("time", "fetch", "api" are connectors' names and everyday words).
const (
	systemShare = 0.3
	maxForeign  = 3
)

// findSystems reads each tool's name (names and descs are the tools' terms): its first word
// names its connector; a second word shared by at least systemShare of that connector's tools
// (and by three or more), that is not a verb, names a system within it. Either kind names a
// system only while few tools outside it use the word.
func (ix *Index) findSystems(names, descs [][]string) {
	ix.systems = map[string]bool{}
	ix.toolSystems = make([][]string, len(names))
	ix.nameTerms = make([][]string, len(names))
	ix.class = make([]intent, len(names))
	perConnector := map[string]int{}
	second := map[[2]string]int{}
	for _, ws := range names {
		if len(ws) == 0 {
			continue
		}
		perConnector[ws[0]]++
		if len(ws) > 2 {
			second[[2]string{ws[0], ws[1]}]++
		}
	}
	candidates := map[string]string{} // word → its connector
	for c := range perConnector {
		candidates[c] = c
	}
	for k, n := range second {
		if n >= 3 && float64(n) >= systemShare*float64(perConnector[k[0]]) && !readVerbs[k[1]] && !writeVerbs[k[1]] {
			candidates[k[1]] = k[0]
		}
	}
	foreign := map[string]int{}
	for i, name := range names {
		owner := ""
		if len(name) > 0 {
			owner = name[0]
		}
		seen := map[string]bool{}
		for _, ws := range [][]string{name, descs[i]} {
			for _, w := range ws {
				if c, ok := candidates[w]; ok && c != owner && !seen[w] {
					seen[w] = true
					foreign[w]++
				}
			}
		}
	}
	for w := range candidates {
		if foreign[w] <= maxForeign {
			ix.systems[w] = true
		}
	}
	for i, ws := range names {
		for j, w := range ws {
			if j == 0 || j == 1 && ix.systems[w] && candidates[w] == ws[0] {
				ix.toolSystems[i] = append(ix.toolSystems[i], w)
				continue
			}
			ix.nameTerms[i] = append(ix.nameTerms[i], w)
			if ix.class[i] == intentUnknown {
				switch {
				case readVerbs[w]:
					ix.class[i] = intentRead
				case writeVerbs[w]:
					ix.class[i] = intentWrite
				}
			}
		}
	}
}

// findFamilies numbers the systems tools belong to, each tool by its narrowest: the tools whose
// names start with the same system words ("atlassian jira", "atlassian confluence", "slack").
func (ix *Index) findFamilies() {
	ix.family = make([]int32, len(ix.toolSystems))
	families := map[string]int32{}
	for i, systems := range ix.toolSystems {
		key := strings.Join(systems, " ")
		f, ok := families[key]
		if !ok {
			f = int32(len(families))
			families[key] = f
		}
		ix.family[i] = f
	}
	ix.nFamilies = len(families)
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

package toolsearch

import (
	"regexp"
	"slices"
	"strings"
)

// What a query asks for, besides its words: which systems it names, whether it wants to read or
// to change something, the things it names by their shape (a URL, an issue key, a #channel) and
// what its words mean in the lexicon.

// intent is what a query or a tool does to the things it names.
type intent int8

const (
	intentUnknown intent = iota
	intentRead           // get, list, search, show: the caller wants to know something
	intentWrite          // create, add, update, delete, send: the caller wants to change something
)

// readVerbs and writeVerbs classify the first verb of a tool's own name (after its connector
// prefix) and of a query. A question ("what…", "which…", "who…", "did…") reads.
var readVerbs = stemSet(`get list search find show read see view fetch retrieve describe explain
	check count download look query open what which who whom how why when did is are does browse
	lookup inspect analyze calculate compute grab dump print tail cat ls recall where whats`)

var writeVerbs = stemSet(`create add post make new file write send update edit change set delete
	remove move rename merge assign transition commit push upload install upgrade uninstall apply
	scale patch fork reply comment draft log link approve resolve drain cordon reset checkout
	switch stage unstage kill close press click type fill hover select drag drop navigate resize
	run execute exec cleanup wipe forget remember subscribe tunnel restart batch copy replace
	archive invite emulate handle reopen ignore unlink tag label evaluate generate stop hand tell
	say announce mark relocate transfer attach save record book tear spin throw put start raise
	import land rebase undo pick tick tap hit relate connect respond answer mkdir`)

// stemSet is wordSet of stemmed words, to look up terms.
func stemSet(list string) map[string]bool {
	m := map[string]bool{}
	for w := range wordSet(list) {
		m[stem(w)] = true
	}
	return m
}

// verbSynonyms are what a query's leading verb means as a tool's verb: one files, opens or
// drafts an issue by creating it; one logs work by adding a worklog. Only the leading verb: in
// "list open pull requests", "open" is a state.
var verbSynonyms = map[string][]string{
	"file":      {"create"},
	"open":      {"create"},
	"draft":     {"create", "draft"},
	"make":      {"create"},
	"new":       {"create"},
	"raise":     {"create"},
	"start":     {"create"},
	"log":       {"add", "log"},
	"record":    {"add"},
	"comment":   {"add", "comment"},
	"approve":   {"review"},
	"kill":      {"close"},
	"forget":    {"delete"},
	"remove":    {"delete", "remove"},
	"remember":  {"add", "observation", "memory"},
	"subscribe": {"watch", "watcher"},
	"tunnel":    {"forward", "port"},
	"wipe":      {"cleanup", "delete"},
	"show":      {"get", "show", "list"},
	"see":       {"get", "list"},
	"view":      {"get", "view"},
	"fetch":     {"fetch", "get"},
	"download":  {"download", "fetch"},
	"retrieve":  {"get", "retrieve"},
	"get":       {"get", "retrieve"},
	"find":      {"search", "find"},
	"look":      {"search", "get"},
	"unstage":   {"reset", "unstage"},
	"switch":    {"switch", "checkout", "context"},
	"count":     {"search", "count"},
	"save":      {"write", "commit"},
	"put":       {"add", "move"},
}

// Weights of what a query means but does not say, against 1 for a word it says: a lexicon
// source's targets, a phrase's targets (the phrase stands for them, so they count for more),
// and the kind of thing a recognised shape names.
const (
	synonymWeight = 0.7
	phraseWeight  = 0.8
	entityWeight  = 0.6
)

// entityShapes are things a query names by their shape rather than their words. Each is taken
// out of the query and replaced by what it is: "PROJ-12" is an issue, not the word "proj";
// "https://go.dev/doc" is a URL, not "go", "dev" and "doc".
var entityShapes = []struct {
	needs string // a query without any of these characters cannot hold the shape
	re    *regexp.Regexp
	means []string
}{
	{".", regexp.MustCompile(`(?i)\bhttps?://\S+|\bwww\.\S+|\b[a-z0-9-]+\.(?:com|org|net|io|dev|app|ai)(?:/\S*)?\b`), Terms("url")},
	{"-", regexp.MustCompile(`\b[A-Z][A-Z0-9]+-\d+\b`), Terms("issue")},
	{"#", regexp.MustCompile(`(?:^|\s)#[\w-]+`), Terms("channel")},
	{"@", regexp.MustCompile(`(?:^|\s)@[\w.-]+`), Terms("user")},
	{".", regexp.MustCompile(`(?i)\b[\w-]+\.(?:png|jpe?g|gif|svg|webp|bmp|mp3|wav|mp4)\b`), Terms("file image media")},
	{".", regexp.MustCompile(`(?i)\b[\w-]+\.(?:go|txt|md|py|js|ts|json|ya?ml|toml|csv|log|html|css|sh|xml|ini|conf|cfg|pdf|java|rs|rb|c|h|cpp)\b`), Terms("file")},
	{"0123456789", regexp.MustCompile(`(?i)\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b|\b\d{1,2}:\d\d\b`), Terms("time")},
}

// parsedQuery is a query as the index uses it.
type parsedQuery struct {
	// groups are what to score: one per word the query says (with what the word means) and one
	// per phrase or shape it stands for. A tool scores a group by its best meaning only, so a
	// word the lexicon knows many meanings of counts no more than a word it knows none of.
	groups   []group
	systems  []string // system terms the query names: they narrow the search
	intent   intent
	rawTerms []string // every term, system ones included (for a query that is only systems)
}

// group is one thing the query asks for, as alternative meanings.
type group []meaning

// meaning is one way of saying what a group asks for: its terms go together, as if the query
// had said them all ("PR" means pull request), at weight w.
type meaning struct {
	terms []string
	w     float64
}

// fillerWords come before the verb of a request and say nothing of it.
var fillerWords = wordSet(`please can could you i want to let's let me go we would like need`)

func parseQuery(query string, ix *Index) parsedQuery {
	var q parsedQuery
	rest := query
	for _, e := range entityShapes {
		if strings.ContainsAny(rest, e.needs) && e.re.MatchString(rest) {
			q.addGroup([][]string{e.means}, entityWeight)
			rest = e.re.ReplaceAllString(rest, " ")
		}
	}
	lower := words(rest)
	ws := make([]string, len(lower)) // stemmed too, as lexicon sources are
	for i, w := range lower {
		lower[i] = strings.ToLower(w)
		ws[i] = stem(lower[i])
	}
	var lead int
	q.intent, lead = leadingIntent(lower, ws)
	consumed := q.matchPhrases(ws)
	for i, t := range ws {
		switch {
		case consumed[i]:
		case notTerm(lower[i]):
			// Not a term, but it may still mean one ("which" asks for a list).
			if means := wordMeans[t]; len(means) > 0 {
				q.addGroup(means, synonymWeight)
			}
		case ix.systems[t]:
			q.rawTerms = append(q.rawTerms, t)
			q.systems = append(q.systems, t)
		default:
			q.rawTerms = append(q.rawTerms, t)
			g := wordGroup(t, i == lead, lower[i])
			// Compounds a query splits and a tool writes as one word ("work log" → worklog).
			if next := nextTerm(ws, lower, consumed, i); next != "" && ix.postings[t+next] != nil {
				g = g.with([]string{t + next}, 1)
			}
			q.groups = append(q.groups, g)
		}
	}
	return q
}

// wordGroup is a word the query says and what it means: in the lexicon, and as a tool's verb
// when it leads the request.
func wordGroup(term string, leads bool, lower string) group {
	g := group{{[]string{term}, 1}}
	if leads {
		for _, v := range verbSynonyms[lower] {
			g = g.with([]string{stem(v)}, synonymWeight)
		}
	}
	for _, m := range wordMeans[term] {
		g = g.with(m, synonymWeight)
	}
	return g
}

// leadingIntent reads the request's first word after the filler, a verb or a question word,
// and returns what it asks for and its position (-1 for none).
func leadingIntent(lower, ws []string) (intent, int) {
	for i, w := range lower {
		if fillerWords[w] {
			continue
		}
		switch {
		case readVerbs[ws[i]]:
			return intentRead, i
		case writeVerbs[ws[i]]:
			return intentWrite, i
		}
		return intentUnknown, i
	}
	return intentUnknown, -1
}

// matchPhrases adds a group for each lexicon phrase in the query, longest first, and returns
// the positions of the words they stand for.
func (q *parsedQuery) matchPhrases(ws []string) []bool {
	consumed := make([]bool, len(ws))
	// Only a phrase whose first word the query says can match: those, in lexicon order (a word
	// said twice lists its phrases twice).
	var candidates []int
	for _, w := range ws {
		candidates = append(candidates, phrasesFrom[w]...)
	}
	slices.Sort(candidates)
	for _, c := range slices.Compact(candidates) {
		p := phrases[c]
		for i := 0; i+len(p.words) <= len(ws); i++ {
			if !runAt(ws, consumed, i, p.words) {
				continue
			}
			for j := range p.words {
				consumed[i+j] = true
			}
			q.addGroup(p.targets, phraseWeight)
		}
	}
	return consumed
}

// runAt says whether words[i:] starts with run, none of it consumed yet.
func runAt(words []string, consumed []bool, i int, run []string) bool {
	for j, w := range run {
		if consumed[i+j] || words[i+j] != w {
			return false
		}
	}
	return true
}

// nextTerm is the term after position i, if the word there is one.
func nextTerm(ws, lower []string, consumed []bool, i int) string {
	if i+1 >= len(ws) || consumed[i+1] || notTerm(lower[i+1]) {
		return ""
	}
	return ws[i+1]
}

// addGroup adds one group of alternative meanings, each at weight w.
func (q *parsedQuery) addGroup(meanings [][]string, w float64) {
	var g group
	for _, m := range meanings {
		g = g.with(m, w)
	}
	if len(g) > 0 {
		q.groups = append(q.groups, g)
	}
}

// with adds a meaning at weight w, or raises the weight it already has.
func (g group) with(terms []string, w float64) group {
	for i := range g {
		if slices.Equal(g[i].terms, terms) {
			g[i].w = max(g[i].w, w)
			return g
		}
	}
	return append(g, meaning{terms, w})
}

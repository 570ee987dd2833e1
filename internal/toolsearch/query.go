package toolsearch

import (
	"strings"
)

// What a query asks for, besides its words: which systems it names, whether it wants to read or
// to change something, and the words it means but may not say.

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
	lookup inspect analyze calculate compute`)

var writeVerbs = stemSet(`create add post make new file write send update edit change set delete
	remove move rename merge assign transition commit push upload install upgrade uninstall apply
	scale patch fork reply comment draft log link approve resolve drain cordon reset checkout
	switch stage unstage kill close press click type fill hover select drag drop navigate resize
	run execute exec cleanup wipe forget remember subscribe tunnel restart batch copy replace
	archive invite emulate handle reopen ignore unlink tag label evaluate generate`)

// stemSet is wordSet of stemmed words, to look up terms.
func stemSet(list string) map[string]bool {
	m := map[string]bool{}
	for w := range wordSet(list) {
		m[stem(w)] = true
	}
	return m
}

// verbSynonyms are what a query's leading verb means as a tool's verb: one files, opens or
// drafts an issue by creating it; one logs work by adding a worklog.
var verbSynonyms = map[string][]string{
	"file":      {"create"},
	"open":      {"create"},
	"draft":     {"create", "draft"},
	"make":      {"create"},
	"new":       {"create"},
	"log":       {"add", "log"},
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
}

// synonyms are words a query uses for what tools call otherwise, in both directions where both
// are common. Each expansion counts for less than the word itself (synonymWeight).
var synonyms = map[string][]string{
	"pr":         {"pull", "request"},
	"mr":         {"merge", "request"},
	"ticket":     {"issue"},
	"bug":        {"issue"},
	"folder":     {"directory"},
	"director":   {"folder"}, // "directory" stemmed
	"repo":       {"repository"},
	"get":        {"retrieve"},
	"retriev":    {"get"}, // "retrieve" stemmed
	"self":       {"me", "current", "user"},
	"screenshot": {"screenshot", "imag"},
	"imag":       {"screenshot"},
	"hour":       {"time", "worklog"},
	"watch":      {"watcher"},
	"email":      {"mail", "message"},
	"mail":       {"email", "message"},
	"chat":       {"message"},
	"dm":         {"message"},
	"secret":     {"credential", "token"},
}

// synonymWeight scales a word the query does not say but means.
const synonymWeight = 0.6

// phrases are multi-word questions whose words alone mean little.
var phrases = []struct {
	words []string
	terms []string
}{
	{[]string{"who", "am", "i"}, []string{"self", "current", "user", "detail", "profil"}},
	{[]string{"about", "me"}, []string{"self", "current", "user"}},
}

// parsedQuery is a query as the index uses it.
type parsedQuery struct {
	terms    []weighted // what to score
	systems  []string   // system terms the query names: they narrow the search
	intent   intent
	rawTerms []string // every term, system ones included (for a query that is only systems)
}

type weighted struct {
	term string
	w    float64
}

func parseQuery(query string, ix *Index) parsedQuery {
	var q parsedQuery
	raw := words(query)
	lower := make([]string, len(raw))
	for i, w := range raw {
		lower[i] = strings.ToLower(w)
	}
	// The leading word says what the caller wants done: a verb, or a question word.
	leading := ""
	for _, w := range lower {
		if w == "please" || w == "can" || w == "could" || w == "you" || w == "i" || w == "want" || w == "to" || w == "let's" || w == "let" || w == "me" || w == "go" {
			continue
		}
		leading = w
		break
	}
	switch {
	case readVerbs[stem(leading)]:
		q.intent = intentRead
	case writeVerbs[stem(leading)]:
		q.intent = intentWrite
	}
	seen := map[string]bool{}
	add := func(t string, w float64) {
		if seen[t] {
			return
		}
		seen[t] = true
		q.terms = append(q.terms, weighted{t, w})
	}
	for _, p := range phrases {
		if containsRun(lower, p.words) {
			for _, t := range p.terms {
				add(t, synonymWeight)
			}
		}
	}
	terms := Terms(query)
	for i, t := range terms {
		q.rawTerms = append(q.rawTerms, t)
		if ix.systems[t] {
			q.systems = append(q.systems, t)
			continue
		}
		if i == 0 && leading != "" && stem(leading) == t {
			if vs, ok := verbSynonyms[leading]; ok {
				add(t, 1)
				for _, v := range vs {
					add(stem(v), synonymWeight)
				}
				continue
			}
		}
		add(t, 1)
		for _, s := range synonyms[t] {
			add(stem(s), synonymWeight)
		}
		// Compounds a query splits and a tool writes as one word ("work log" → worklog).
		if i+1 < len(terms) {
			if joined := t + terms[i+1]; ix.postings[joined] != nil {
				add(joined, 1)
			}
		}
	}
	return q
}

func containsRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		match := true
		for j, w := range run {
			if words[i+j] != w {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

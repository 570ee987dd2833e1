package toolsearch

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terms splits text into the words the index and queries use: split on anything that is not a
// letter or digit (so the connector separator and _ - . all split) and at camelCase boundaries
// of identifiers ("getHTTPStatus" → get, http, status), lowercased, without common English
// function words and numbers, and with plural and verb endings removed so "notes", "noting" and
// "note" meet. A word that starts with a capital letter is a name ("GitHub", "SQLite", "HubSpot")
// and stays whole: split, it would never meet the "github__" of the tools it names.
func Terms(text string) []string {
	var out []string
	for _, w := range words(text) {
		w = strings.ToLower(w)
		if notTerm(w) {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

// notTerm says whether Terms drops the lower-case word w: the index and a query's reading
// must agree on it.
func notTerm(w string) bool { return stopwords[w] || isNumber(w) }

// isNumber reports a word of digits only: ids and counts in a query ("PROJ-123", "5 replicas")
// say nothing of which tool to use, yet match examples in parameter descriptions.
func isNumber(w string) bool {
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// words splits on non-alphanumerics and, inside a word that starts with a lower-case letter,
// at camelCase boundaries: a lower-case letter or digit followed by an upper-case one, or an
// upper-case run followed by an upper-case letter that starts a lower-case word
// ("getHTTPServer" → get, HTTP, Server).
func words(text string) []string {
	var out []string
	start := -1
	var prev rune
	camel, inWord := false, false
	for i, r := range text {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if start >= 0 {
				out = append(out, text[start:i])
				start = -1
			}
			inWord = false
			continue
		}
		if !inWord {
			inWord, camel = true, !unicode.IsUpper(r)
		}
		if start >= 0 && camel && unicode.IsUpper(r) {
			next, _ := utf8.DecodeRuneInString(text[i+utf8.RuneLen(r):])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && unicode.IsLower(next) {
				out = append(out, text[start:i])
				start = -1
			}
		}
		if start < 0 {
			start = i
		}
		prev = r
	}
	if start >= 0 {
		out = append(out, text[start:])
	}
	return out
}

// stem removes the most common English inflections. It is deliberately small (no Porter rule
// tables): what matters is that a word and its plural or -ing/-ed form become the same term,
// consistently for the index and the query.
func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		w = w[:len(w)-3] + "y"
	case len(w) > 4 && strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		w = undouble(w[:len(w)-3])
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		w = undouble(w[:len(w)-2])
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	// "create", "created" and "creating" all end as "creat".
	if len(w) > 4 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}

// undouble undoes the consonant an ending doubled: "running" → run, "logged" → log,
// "committed" → commit; "filled" and "pressed" keep theirs.
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouylsz", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

// stopwords carry no meaning about what a tool does. Besides the function words, they hold the
// small talk of a request ("please", "right now", "for me") and auxiliaries ("did", "have")
// that otherwise match short descriptions by chance.
var stopwords = wordSet(`a an the and or of to for in on at by with from into onto is are be been
	it its this that these those me my i you your we our us can could would should please do does how what
	which who whom some any there here as about did have has had much before after their them they
	them he she his her him was were will just also but so than then too very via now right currently
	am it's i'm let let's want need like using use up`)

func wordSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

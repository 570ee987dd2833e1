package store

import (
	"strconv"
	"strings"
	"sync"
)

// dialect is what the store's SQL says differently on each database. Every query is written
// once, with ? parameters; the few words that differ come from here, and the PostgreSQL
// connection numbers the parameters (rebind).
type dialect struct {
	name string
	// greatest is the larger of two values: SQLite's two-argument MAX, PostgreSQL's GREATEST.
	greatest string
	// byteOrder follows a text column in ORDER BY to sort it byte by byte. SQLite's default
	// collation (BINARY) already does; PostgreSQL's follows the database's locale.
	byteOrder string
	// skipLocked ends the subquery that picks rows for a batched delete. On PostgreSQL several
	// replicas' sweeps then take disjoint batches instead of queueing behind each other's row
	// locks; SQLite has one writer at a time and no row locks.
	skipLocked string
	// percentiles says the database has percentile_cont (PostgreSQL); without it (SQLite) the
	// store computes the same numbers in Go.
	percentiles bool
	// migrations is the directory of the dialect's own migrations, those whose SQL differs
	// (BLOB/BYTEA, INTEGER/BIGINT, AUTOINCREMENT/BIGSERIAL); both also run migrations/common.
	migrations string
}

var (
	sqliteDialect = dialect{
		name:       "sqlite",
		greatest:   "MAX",
		migrations: "migrations/sqlite",
	}
	postgresDialect = dialect{
		name:        "postgres",
		greatest:    "GREATEST",
		byteOrder:   ` COLLATE "C"`,
		skipLocked:  " FOR UPDATE SKIP LOCKED",
		percentiles: true,
		migrations:  "migrations/postgres",
	}
)

// rebound caches rebind's work, keyed by the query as written. Queries are built only from
// fixed fragments (values always travel as parameters), so the set of keys is finite: the
// store's statements and the audit filter's combinations.
var rebound sync.Map

// numbered returns query with PostgreSQL's parameter spelling, from the cache.
func numbered(query string) string {
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	q := rebind(query)
	rebound.Store(query, q)
	return q
}

// rebind rewrites query's ? parameters as $1, $2, … in order (and SQLite's ?NNN as $NNN). A ? inside a string literal
// ('…', E'…' or $tag$…$tag$), a quoted identifier ("…") or a comment (-- … and nested /* … */)
// is text, not a parameter, and is left alone.
func rebind(query string) string {
	if strings.IndexByte(query, '?') < 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); {
		j := i + 1 // end of the token starting at i
		switch c := query[i]; {
		case c == '?':
			for j < len(query) && isDigit(query[j]) {
				j++
			}
			b.WriteByte('$')
			if j == i+1 {
				n++
				b.WriteString(strconv.Itoa(n))
			} else {
				// SQLite's ?NNN names parameter NNN, and a bare ? after it is the next one:
				// spelling it $NNN keeps both meanings.
				b.WriteString(query[i+1 : j])
				if k, err := strconv.Atoi(query[i+1 : j]); err == nil {
					n = max(n, k)
				}
			}
			i = j
			continue
		case c == '\'':
			j = quotedEnd(query, i, '\'', escapeString(query, i))
		case c == '"':
			j = quotedEnd(query, i, '"', false)
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			if k := strings.IndexByte(query[i:], '\n'); k >= 0 {
				j = i + k + 1
			} else {
				j = len(query)
			}
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j = blockCommentEnd(query, i)
		case c == '$':
			if tag := dollarTag(query, i); tag != "" {
				if k := strings.Index(query[i+len(tag):], tag); k >= 0 {
					j = i + len(tag) + k + len(tag)
				} else {
					j = len(query)
				}
			}
		case isIdentByte(c):
			// A whole word at once: a $ inside one (a$b) is part of the name, not a quote.
			for j < len(query) && (isIdentByte(query[j]) || query[j] == '$') {
				j++
			}
		}
		b.WriteString(query[i:j])
		i = j
	}
	return b.String()
}

// quotedEnd returns the index just past the quoted text that opens at i: a doubled quote is an
// escaped one, and so, with backslashes, is \' in an escape string. An unterminated quote runs to
// the end.
func quotedEnd(s string, i int, quote byte, backslashes bool) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslashes {
				j++
			}
		case quote:
			if j+1 < len(s) && s[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// escapeString reports whether the string literal opening at i is an escape string, E'…',
// where a backslash escapes the next character.
func escapeString(s string, i int) bool {
	return i > 0 && (s[i-1] == 'E' || s[i-1] == 'e') && (i == 1 || !isIdentByte(s[i-2]))
}

// blockCommentEnd returns the index just past the comment opening at i; PostgreSQL's block
// comments nest.
func blockCommentEnd(s string, i int) int {
	depth := 0
	for j := i; j+1 < len(s); j++ {
		switch {
		case s[j] == '/' && s[j+1] == '*':
			depth++
			j++
		case s[j] == '*' && s[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// dollarTag returns the tag ($$ or $name$) of a dollar-quoted string opening at i, or "".
func dollarTag(s string, i int) string {
	j := i + 1
	if j < len(s) && (s[j] == '_' || isLetter(s[j])) {
		for j < len(s) && isIdentByte(s[j]) {
			j++
		}
	}
	if j < len(s) && s[j] == '$' {
		return s[i : j+1]
	}
	return ""
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' || c >= 0x80 }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentByte(c byte) bool { return isLetter(c) || c == '_' || isDigit(c) }

package store

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no parameters", `SELECT 1`, `SELECT 1`},
		{"parameters are numbered in order", `SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{"past nine", strings.Repeat("?,", 11) + "?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12"},
		{"a ? in a string literal is text", `SELECT '?', ? FROM t WHERE x = 'a?b'`, `SELECT '?', $1 FROM t WHERE x = 'a?b'`},
		{"a doubled quote does not end the literal", `SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{"a backslash in a standard string is a character", `SELECT '\', ?`, `SELECT '\', $1`},
		{"a backslash escapes the quote in an escape string", `SELECT E'\'?', e'\\', ?`, `SELECT E'\'?', e'\\', $1`},
		{"an identifier ending in e is not an escape string", `SELECT type'\', ?`, `SELECT type'\', $1`},
		{"a ? in a quoted identifier is text", `SELECT "a?""b" FROM t WHERE c = ?`, `SELECT "a?""b" FROM t WHERE c = $1`},
		{"a ? in a line comment is text", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"a line comment at the end", "SELECT ? -- why?", "SELECT $1 -- why?"},
		{"a ? in a block comment is text", `SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{"block comments nest", `SELECT /* a /* ? */ ? */ ?`, `SELECT /* a /* ? */ ? */ $1`},
		{"a ? in a dollar-quoted string is text", `SELECT $$?$$, $q$ $$ ? $q$, ?`, `SELECT $$?$$, $q$ $$ ? $q$, $1`},
		{"a $ inside a name is no quote", `SELECT a$b$c, ?`, `SELECT a$b$c, $1`},
		{"a numbered parameter is no quote", `SELECT $1, ?`, `SELECT $1, $1`},
		{"a minus and a slash alone are operators", `SELECT ? - ?, ? / ?`, `SELECT $1 - $2, $3 / $4`},
		{"an unterminated literal runs to the end", `SELECT ?, 'a?`, `SELECT $1, 'a?`},
		{"an unterminated comment runs to the end", `SELECT ?, /* ?`, `SELECT $1, /* ?`},
		{"an unterminated dollar quote runs to the end", `SELECT ?, $x$ ?`, `SELECT $1, $x$ ?`},
		{"a numbered ? keeps its number, and a bare one after it takes the next", `SELECT ?2, ?1, ?, ?0`, `SELECT $2, $1, $3, $0`},
		{"a ? before a digit does not run into it", `SELECT ?0000`, `SELECT $0000`},
		{"multi-byte text around parameters", `SELECT 'é?', ? || 'ü'`, `SELECT 'é?', $1 || 'ü'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rebind(tc.in); got != tc.want {
				t.Fatalf("rebind(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNumberedCachesTheRewrite(t *testing.T) {
	q := `SELECT ? /* TestNumberedCachesTheRewrite */`
	if got := numbered(q); got != `SELECT $1 /* TestNumberedCachesTheRewrite */` {
		t.Fatalf("got %q", got)
	}
	if v, ok := rebound.Load(q); !ok || v != `SELECT $1 /* TestNumberedCachesTheRewrite */` {
		t.Fatalf("not cached: %v %v", v, ok)
	}
	if allocs := testing.AllocsPerRun(100, func() { numbered(q) }); allocs != 0 {
		t.Fatalf("a cached rewrite allocates %v times", allocs)
	}
}

var (
	numberedParam  = regexp.MustCompile(`\$[0-9]+`)
	sqliteNumbered = regexp.MustCompile(`\?[0-9]`)
)

// FuzzRebind: rebind never panics, only ever replaces a ? by the next number, and keeps every
// other byte. (Inputs holding a $ or SQLite's numbered ?NNN are left out of the round trip: their
// numbers would be indistinguishable from the ones rebind wrote.)
func FuzzRebind(f *testing.F) {
	for _, s := range []string{`SELECT ? FROM t WHERE a = '?'`, `E'\'?' ?`, `/* /* ? */ ? */ ?`, "-- ?\n?", `"?" ?`, `$$?$$ ?`, `?'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := rebind(s)
		if strings.Contains(s, "$") || sqliteNumbered.MatchString(s) {
			return
		}
		n := 0
		back := numberedParam.ReplaceAllStringFunc(out, func(p string) string {
			n++
			if p != "$"+strconv.Itoa(n) {
				t.Fatalf("rebind(%q) = %q: parameter %s where $%d was due", s, out, p, n)
			}
			return "?"
		})
		if back != s {
			t.Fatalf("rebind(%q) = %q changed more than parameters", s, out)
		}
		if n > strings.Count(s, "?") {
			t.Fatalf("rebind(%q) = %q: more parameters than question marks", s, out)
		}
	})
}

// BenchmarkNumbered is what the rewrite adds to each PostgreSQL statement once cached, for the
// longest statement (the audit insert); BenchmarkRebind is the one-time rewrite.
func BenchmarkNumbered(b *testing.B) {
	numbered(insertAudit)
	for b.Loop() {
		numbered(insertAudit)
	}
}

func BenchmarkRebind(b *testing.B) {
	for b.Loop() {
		rebind(insertAudit)
	}
}

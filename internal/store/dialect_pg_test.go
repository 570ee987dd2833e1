package store_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vmcp-dev/vmcp/internal/store"
)

// PostgreSQL itself is the judge of the parameter rewriting: it refuses a statement whose
// parameters do not match the arguments, and a ? rebind mistook for text (or text for a ?) shows
// in the result.
func TestPostgresReadsRebindsParametersAsWritten(t *testing.T) {
	t.Parallel()
	conn, err := pgx.Connect(t.Context(), pg.Server(t).Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"parameters in order", `SELECT ?::text || ?::text`, []any{"a", "b"}, "ab"},
		{"a ? in a string literal", `SELECT '?' || ?::text || 'a?b'`, []any{"x"}, "?xa?b"},
		{"a doubled quote", `SELECT 'it''s ?' || ?::text`, []any{"x"}, "it's ?x"},
		{"a backslash in a standard string", `SELECT '\' || ?::text`, []any{"x"}, `\x`},
		{"an escape string", `SELECT E'\'?' || ?::text`, []any{"x"}, "'?x"},
		{"a quoted identifier", `SELECT "a?""b" FROM (SELECT ?::text AS "a?""b") t`, []any{"x"}, "x"},
		{"a line comment", "SELECT ?::text -- why?\n || ?::text", []any{"a", "b"}, "ab"},
		{"nested block comments", `SELECT /* a /* ? */ ? */ ?::text`, []any{"x"}, "x"},
		{"dollar quotes", `SELECT $$?$$ || $q$ $$ ? $q$ || ?::text`, []any{"x"}, "? $$ ? x"},
		{"numbered parameters", `SELECT ?2::text || ?1::text || ?::text`, []any{"a", "b", "c"}, "bac"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := conn.QueryRow(t.Context(), store.Rebind(tc.query), tc.args...).Scan(&got); err != nil {
				t.Fatalf("%s: %v", store.Rebind(tc.query), err)
			}
			if got != tc.want {
				t.Fatalf("%s: got %q, want %q", store.Rebind(tc.query), got, tc.want)
			}
		})
	}
}

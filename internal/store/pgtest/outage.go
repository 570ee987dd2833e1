package pgtest

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// Cut makes the database a DSN from Database names unavailable, as an outage would for the
// clients using it: existing sessions are ended and new connections are refused ("database is
// not currently accepting connections"). The returned function ends the outage. The server
// itself keeps running, so other tests' databases are unaffected.
func (s *Server) Cut(t testing.TB, dsn string) (restore func()) {
	t.Helper()
	u, err := url.Parse(dsn)
	name := strings.TrimPrefix(u.Path, "/")
	if err != nil || name == "" || strings.ContainsAny(name, `"; `) {
		t.Fatalf("pgtest: Cut needs a postgres:// DSN from Database")
	}
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := s.admin.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("pgtest: %s: %v", sql, err)
		}
	}
	exec(`ALTER DATABASE "` + name + `" ALLOW_CONNECTIONS false`)
	exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	return func() { exec(`ALTER DATABASE "` + name + `" ALLOW_CONNECTIONS true`) }
}

// Package storetest is the conformance suite every store backend passes: each method, the
// single-use guarantees under concurrency, several replicas on one database, migrations run
// again, and the audit trail's queries. Backends are tested against real databases only.
package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/store"
)

// Backend makes a fresh, empty database for t and returns how to open a Store on it. Each call of
// the returned function opens one more Store on that same database, as a restart or a second
// replica would; the suite closes them.
type Backend func(t *testing.T) func(ctx context.Context) (store.Store, error)

// Run runs the whole suite against backend. All tests run in parallel, each on its own database.
func Run(t *testing.T, backend Backend) {
	for _, group := range []struct {
		name  string
		tests []test
	}{
		{"Secrets", secretTests},
		{"Clients", clientTests},
		{"Grants", grantTests},
		{"Consents", consentTests},
		{"RefreshTokens", refreshTests},
		{"Revocations", revocationTests},
		{"SigningKeys", signingKeyTests},
		{"Connections", connectionTests},
		{"Concurrency", concurrencyTests},
		{"Replicas", replicaTests},
		{"EndedSessions", endedSessionTests},
		{"Migrations", migrationTests},
		{"AuditInsert", auditInsertTests},
		{"AuditQuery", auditQueryTests},
		{"AuditUsage", auditUsageTests},
		{"AuditRetention", auditRetentionTests},
	} {
		t.Run(group.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range group.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, &env{t: t, open: backend(t)})
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, e *env)
}

// env is one test's database.
type env struct {
	t    *testing.T
	open func(ctx context.Context) (store.Store, error)
}

// store opens one more Store on the test's database, closed when the test ends.
func (e *env) store() store.Store {
	e.t.Helper()
	db, err := e.open(e.t.Context())
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// together runs f(i) for i in [0, n) in n goroutines released at the same instant, and waits.
func together(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

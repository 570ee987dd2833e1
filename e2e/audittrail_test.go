package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// auditTrail reads the audit trail as an admin does, with `vmcp audit --json` and its filter
// flags (--user, --kind, --outcome, …).
func (s *system) auditTrail(t *testing.T, filters ...string) []audit.Event {
	t.Helper()
	if s.adminToken == "" {
		s.adminToken = s.token("root", "", "--admin", "--groups", "vmcp-admins")
	}
	args := append([]string{"audit", "--server", "http://" + s.addrs["http"], "--token", s.adminToken, "--json", "--limit", "1000"}, filters...)
	out, err := exec.Command(harness.BuildVMCP(t), args...).Output()
	if err != nil {
		t.Fatalf("vmcp audit %v: %v", filters, err)
	}
	var events []audit.Event
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var ev audit.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("vmcp audit printed %q: %v", line, err)
		}
		events = append(events, ev)
	}
	return events
}

// awaitAudit waits until the audit trail, filtered, holds want events that match, and then
// checks that it holds exactly that many: the events come through the asynchronous audit
// pipeline.
func (s *system) awaitAudit(t *testing.T, want int, match func(audit.Event) bool, filters ...string) []audit.Event {
	t.Helper()
	var got []audit.Event
	harness.Eventually(t, 15*time.Second, func() error {
		got = got[:0]
		for _, ev := range s.auditTrail(t, filters...) {
			if match(ev) {
				got = append(got, ev)
			}
		}
		if len(got) < want {
			return fmt.Errorf("%d matching audit events so far, want %d", len(got), want)
		}
		return nil
	})
	if len(got) != want {
		t.Errorf("%d matching audit events, want exactly %d: %+v", len(got), want, got)
	}
	return got
}

// openStore opens the system's SQLite store, where vmcp, running or stopped, keeps its audit
// trail and its keys, for a test to read directly; the caller closes it.
func (s *system) openStore(t testing.TB) store.Store {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(s.dir, "data", "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// auditEvents is every audit event in db that f matches, read page by page.
func auditEvents(db store.Store, f audit.Filter) ([]audit.Event, error) {
	f.Limit = 1000
	var all []audit.Event
	for {
		evs, next, err := db.QueryAuditEvents(context.Background(), f)
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
		if next == "" {
			return all, nil
		}
		f.Cursor = next
	}
}

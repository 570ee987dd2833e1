package audit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/store/pgtest"
)

// A real PostgreSQL outage under load: the recorder spills what it cannot write, keeps taking
// events without blocking, and once the database is back every event is in it exactly once.
func TestAPostgreSQLOutageSpillsAndLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	ctx := context.Background()
	pg, err := pgtest.Start(ctx)
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PostgreSQL log:\n%s", pg.Log())
		}
		pg.Stop()
	})
	dsn := pg.Database(t)
	db, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := newHarness(t, db, fast(t.TempDir()))
	stop := h.run(t)

	stored := func() (n int, ids map[string]bool) {
		ids = map[string]bool{}
		cursor := ""
		for {
			evs, next, err := db.QueryAuditEvents(ctx, audit.Filter{Limit: 1000, Cursor: cursor})
			if err != nil {
				return -1, nil
			}
			for _, e := range evs {
				ids[e.ID] = true
			}
			n += len(evs)
			if next == "" {
				return n, ids
			}
			cursor = next
		}
	}
	const before, during, after = 200, 1000, 200
	record := func(from, n int) {
		for i := range n {
			h.rec.Record(mcpEvent(fmt.Sprint("user", (from+i)%7), from+i))
		}
	}
	record(0, before)
	eventually(t, "the first events are in PostgreSQL", func() bool { n, _ := stored(); return n == before })

	restore := pg.Cut(t, dsn)
	record(before, during)
	eventually(t, "the outage is noticed and events are spilled", func() bool { return h.metric(t, "vmcp_audit_spilled_total") > 0 })
	restore()
	record(before+during, after)

	const total = before + during + after
	eventually(t, "every event reaches PostgreSQL after the outage", func() bool { n, _ := stored(); return n >= total })
	stop()
	n, ids := stored()
	if n != total || len(ids) != total {
		t.Errorf("%d rows with %d distinct ids, want %d of each", n, len(ids), total)
	}
	if d := h.metric(t, "vmcp_audit_dropped_total"); d != 0 {
		t.Errorf("dropped %v events", d)
	}
}

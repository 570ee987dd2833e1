package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// benchBackends opens a fresh store on each real backend.
var benchBackends = []struct {
	name string
	open func(b *testing.B) store.Store
}{
	{"sqlite", func(b *testing.B) store.Store {
		db, err := store.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "vmcp.db"))
		if err != nil {
			b.Fatal(err)
		}
		return db
	}},
	{"postgres", func(b *testing.B) store.Store {
		db, err := store.OpenPostgres(b.Context(), pg.Server(b).Database(b))
		if err != nil {
			b.Fatal(err)
		}
		return db
	}},
}

// BenchmarkInsertAuditEvents is the audit pipeline's write: one batch per op, of one event (a
// quiet gateway flushing on its interval) and of audit.DefaultBatchSize (a busy one). Reported
// per event as well, so that the two sizes compare.
func BenchmarkInsertAuditEvents(b *testing.B) {
	for _, be := range benchBackends {
		for _, size := range []int{1, audit.DefaultBatchSize} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, size), func(b *testing.B) {
				db := be.open(b)
				defer db.Close()
				now := time.Now()
				batch := make([]audit.Event, size)
				n := 0
				for b.Loop() {
					for i := range batch {
						n++
						batch[i] = audit.Event{
							ID: fmt.Sprintf("ev-%d", n), Time: now, Kind: audit.KindMCP, RequestID: "req",
							Subject: "user@example.com", ClientID: "client", VirtualServer: "default",
							Connector: "notes", Method: "tools/call", Target: "notes__add_note", Decision: "allow",
							Outcome: audit.OutcomeOK, LatencyMicros: 1200, BytesIn: 300, BytesOut: 900,
							Arguments: map[string]any{"title": nil},
						}
					}
					if err := db.InsertAuditEvents(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
			})
		}
	}
}

// BenchmarkPointQueries are the short statements of a request: a grant read, a refresh-token
// rotation and the revocation list's version poll.
func BenchmarkPointQueries(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name+"/Grant", func(b *testing.B) {
			db := be.open(b)
			defer db.Close()
			ctx := context.Background()
			if err := db.PutGrant(ctx, "code", "k", []byte("v"), time.Now().Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := db.Grant(ctx, "code", "k"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.name+"/UseRefreshToken", func(b *testing.B) {
			db := be.open(b)
			defer db.Close()
			ctx := context.Background()
			n := 0
			for b.Loop() {
				n++
				tok := fmt.Sprintf("t-%d", n)
				if err := db.PutRefreshToken(ctx, tok, "f", []byte("g"), time.Now().Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
				if _, _, err := db.UseRefreshToken(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.name+"/RevocationsVersion", func(b *testing.B) {
			db := be.open(b)
			defer db.Close()
			ctx := context.Background()
			for b.Loop() {
				if _, err := db.RevocationsVersion(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/store"
)

// twoReplicas are two codecs with the same key, each with its own set of ended sessions, on one
// real SQLite store: as two replicas of vmcp share one database.
func twoReplicas(t testing.TB) (a, b *Codec, endedA, endedB *Ended) {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now()
	a, b = newCodec(t, key, &now), newCodec(t, key, &now)
	endedA, endedB = NewEnded(db, zap.NewNop()), NewEnded(db, zap.NewNop())
	a.TrackEnded(endedA)
	b.TrackEnded(endedB)
	return a, b, endedA, endedB
}

func TestAnEndedSessionIsRefusedHereAtOnceAndOnAnotherReplicaAfterItSyncs(t *testing.T) {
	a, b, _, endedB := twoReplicas(t)
	id, err := a.Seal(aliceState())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := a.Seal(aliceState())
	sess, err := a.Open(id, "alice", "eng")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.End(context.Background(), id, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Open(id, "alice", "eng"); !errors.Is(err, ErrEnded) {
		t.Fatalf("replica A after the DELETE: %v, want ErrEnded", err)
	}
	if _, err := b.Open(id, "alice", "eng"); err != nil {
		t.Fatalf("replica B before it synced: %v (it learns at the next sync)", err)
	}
	if err := endedB.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(id, "alice", "eng"); !errors.Is(err, ErrEnded) {
		t.Fatalf("replica B after its sync: %v, want ErrEnded", err)
	}
	// Only that session: another of the same user's is untouched, on both replicas.
	for name, c := range map[string]*Codec{"A": a, "B": b} {
		if _, err := c.Open(other, "alice", "eng"); err != nil {
			t.Errorf("replica %s refuses another session of the user: %v", name, err)
		}
	}
}

func TestSyncForgetsSessionsThatHaveExpiredAnyway(t *testing.T) {
	a, _, endedA, _ := twoReplicas(t)
	sess := aliceState()
	sess.Expiry = time.Now().Add(-time.Minute).Unix()
	if err := a.End(context.Background(), "AAAAAAAAAAAAAAAAAAAA", sess); err != nil {
		t.Fatal(err)
	}
	if !endedA.Has("AAAAAAAAAAAAAAAA") {
		t.Fatal("not recorded")
	}
	if err := endedA.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if endedA.Has("AAAAAAAAAAAAAAAA") {
		t.Error("a record past the session's expiry is still held")
	}
}

// BenchmarkOpenWithEndedSessions is Open on the request path with the set of ended sessions
// holding n records: the check is one map lookup under a read lock, no store round trip.
func BenchmarkOpenWithEndedSessions(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("%d ended", n), func(b *testing.B) {
			now := epoch
			c := newCodec(b, key, &now)
			ended := NewEnded(nil, zap.NewNop())
			for i := range n {
				ended.keys[fmt.Sprintf("%016d", i)] = now.Add(time.Hour).Unix()
			}
			c.TrackEnded(ended)
			id, err := c.Seal(aliceState())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Open(id, "alice", "eng"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenWithoutEndedSessions is the same Open without the check, for comparison.
func BenchmarkOpenWithoutEndedSessions(b *testing.B) {
	now := epoch
	c := newCodec(b, key, &now)
	id, _ := c.Seal(aliceState())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Open(id, "alice", "eng"); err != nil {
			b.Fatal(err)
		}
	}
}

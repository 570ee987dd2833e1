package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/audit/audittest"
)

// countingStore records the limit of every delete, and can fail the first few.
type countingStore struct {
	*audittest.MemStore
	mu     sync.Mutex
	limits []int
	fail   int
}

func (c *countingStore) DeleteAuditEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	c.mu.Lock()
	c.limits = append(c.limits, limit)
	fail := c.fail > 0
	c.fail--
	c.mu.Unlock()
	if fail {
		return 0, errors.New("database is locked")
	}
	return c.MemStore.DeleteAuditEventsBefore(ctx, t, limit)
}

func (c *countingStore) deletes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.limits...)
}

func seed(t *testing.T, store audit.Store, n int, at time.Time, sub string) {
	t.Helper()
	evs := make([]audit.Event, n)
	for i := range evs {
		evs[i] = audit.Event{ID: audit.NewID(at), Time: at.Add(time.Duration(i) * time.Microsecond), Kind: audit.KindMCP, Subject: sub}
	}
	if err := store.InsertAuditEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionDeletesOldEventsInBatches(t *testing.T) {
	store := &countingStore{MemStore: audittest.NewMemStore()}
	seed(t, store, 2500, time.Now().Add(-48*time.Hour), "old")
	seed(t, store, 10, time.Now().Add(-time.Hour), "new")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- audit.RunRetention(ctx, store, 24*time.Hour, 1000, time.Hour, zap.NewNop()) }()
	eventually(t, "old events are gone", func() bool { return store.Len() == 10 })
	eventually(t, "the round ends with an empty delete", func() bool { return len(store.deletes()) == 4 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunRetention: %v", err)
	}
	for _, e := range store.Events() {
		if e.Subject != "new" {
			t.Fatalf("a recent or wrong event was deleted/kept: %+v", e)
		}
	}
	for _, l := range store.deletes() {
		if l != 1000 {
			t.Errorf("delete with limit %d, want 1000 each", l)
		}
	}
}

func TestRetentionRetriesAfterAFailureNextInterval(t *testing.T) {
	store := &countingStore{MemStore: audittest.NewMemStore(), fail: 1}
	seed(t, store, 5, time.Now().Add(-48*time.Hour), "old")
	core, logs := observer.New(zapcore.InfoLevel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go audit.RunRetention(ctx, store, 24*time.Hour, 100, 5*time.Millisecond, zap.New(core))
	eventually(t, "the next interval deletes them", func() bool { return store.Len() == 0 })
	if logs.FilterMessageSnippet("retention delete failed").Len() != 1 {
		t.Errorf("the failure was not logged once: %v", logs.All())
	}
}

func TestRetentionZeroKeepsEverything(t *testing.T) {
	store := &countingStore{MemStore: audittest.NewMemStore()}
	if err := audit.RunRetention(context.Background(), store, 0, 100, time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if len(store.deletes()) != 0 {
		t.Error("retention 0 deleted")
	}
}

package audit_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// discardStore accepts and forgets, so the benchmarks measure the recorder, not a store.
type discardStore struct{ audit.Store }

func (discardStore) InsertAuditEvents(context.Context, []audit.Event) error { return nil }

func benchRecorder(b *testing.B, opts audit.Options, run bool) *audit.Recorder {
	b.Helper()
	opts.SpillDir = b.TempDir()
	rec, err := audit.NewRecorder(discardStore{}, opts, zap.NewNop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { rec.Run(ctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done; rec.Close() })
	} else {
		b.Cleanup(func() { rec.Close() })
	}
	return rec
}

func benchEvent() audit.Event {
	return audit.Event{
		Kind: audit.KindMCP, RequestID: "req-1", Subject: "alice", Email: "alice@example.com",
		ClientID: "claude", VirtualServer: "team", Connector: "notes", Method: "tools/call",
		Target: "notes__search", Outcome: audit.OutcomeOK, LatencyMicros: 1234,
		Arguments: map[string]any{"query": "quarterly report", "limit": 10.0, "folder": "finance"},
	}
}

// BenchmarkRecord is the request-path cost in the default (keys) mode with a draining owner.
func BenchmarkRecord(b *testing.B) {
	rec := benchRecorder(b, audit.Options{Arguments: audit.ArgumentsKeys, Buffer: 1 << 16}, true)
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		rec.Record(ev)
	}
}

// BenchmarkRecordParallel: many request goroutines at once (no global lock on the way in).
func BenchmarkRecordParallel(b *testing.B) {
	rec := benchRecorder(b, audit.Options{Arguments: audit.ArgumentsKeys, Buffer: 1 << 16}, true)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ev := benchEvent()
		for pb.Next() {
			rec.Record(ev)
		}
	})
}

// BenchmarkRecordFullArguments: full mode walks and redacts the values.
func BenchmarkRecordFullArguments(b *testing.B) {
	rec := benchRecorder(b, audit.Options{Arguments: audit.ArgumentsFull, Buffer: 1 << 16}, true)
	ev := benchEvent()
	ev.Arguments["body"] = "Meeting notes: revenue up 4%, see https://wiki.example.com/q3 for details."
	b.ReportAllocs()
	for b.Loop() {
		rec.Record(ev)
	}
}

// BenchmarkRecordOverflowToSpill: the lossless buffer-full path, a buffered append to the
// spill file under its mutex (Run is not started, so every event takes it).
func BenchmarkRecordOverflowToSpill(b *testing.B) {
	rec := benchRecorder(b, audit.Options{Arguments: audit.ArgumentsKeys, Buffer: 1, FlushInterval: time.Hour}, false)
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		rec.Record(ev)
	}
}

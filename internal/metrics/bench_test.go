package metrics

import (
	"testing"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/cputime"
)

// The cost the observer adds to every request: a routed tools/call of a known tool, whose
// series exist already (the steady state).
func BenchmarkRecordToolCall(b *testing.B) {
	r, _ := newTestRequests(b, nil)
	ev := audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Connector: "notes", Method: "tools/call", Target: "notes__add_note", Outcome: audit.OutcomeOK, LatencyMicros: 1500}
	r.Record(ev)
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		r.Record(ev)
	}
}

// The same from every core at once: no lock is shared on the way.
func BenchmarkRecordToolCallParallel(b *testing.B) {
	r, _ := newTestRequests(b, nil)
	ev := audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Connector: "notes", Method: "tools/call", Target: "notes__add_note", Outcome: audit.OutcomeOK, LatencyMicros: 1500}
	r.Record(ev)
	b.ReportAllocs()
	defer cputime.Start(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(ev)
		}
	})
}

// A list answered by the aggregator: no tool label to look up.
func BenchmarkRecordList(b *testing.B) {
	r, _ := newTestRequests(b, nil)
	ev := audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "tools/list", Outcome: audit.OutcomeOK, LatencyMicros: 800}
	r.Record(ev)
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		r.Record(ev)
	}
}

// What the observer replaces: the vectors' own label lookup per request.
func BenchmarkWithLabelValues(b *testing.B) {
	r, _ := newTestRequests(b, nil)
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		r.requests.WithLabelValues("demo", "notes", "tools/call", "notes__add_note", "ok").Inc()
		r.duration.WithLabelValues("demo", "notes", "tools/call", "notes__add_note").Observe(0.0015)
	}
}

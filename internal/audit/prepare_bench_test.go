package audit

import (
	"testing"
	"time"
)

// BenchmarkPrepare is Record's own work before the hand-over to the buffer: id, time, text
// cleaning, argument mode (keys).
func BenchmarkPrepare(b *testing.B) {
	args := map[string]any{"query": "quarterly report", "limit": 10.0, "folder": "finance"}
	b.ReportAllocs()
	for b.Loop() {
		ev := Event{
			Kind: KindMCP, RequestID: "req-1", Subject: "alice", Email: "alice@example.com",
			ClientID: "claude", VirtualServer: "team", Connector: "notes", Method: "tools/call",
			Target: "notes__search", Outcome: OutcomeOK, LatencyMicros: 1234, Arguments: args,
		}
		prepare(&ev, ArgumentsKeys, time.Now)
	}
}

package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/audit/audittest"
)

var errDown = errors.New("store is down")

func TestEveryEventArrivesExactlyOnceUnderConcurrentLoad(t *testing.T) {
	store := audittest.NewMemStore()
	// A buffer much smaller than the load, so that part of it takes the overflow path through
	// the spill file and back.
	h := newHarness(t, store, fast(t.TempDir()))
	h.run(t)
	const goroutines, each = 16, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.rec.Record(mcpEvent(fmt.Sprintf("user%d", g), i))
			}
		}()
	}
	wg.Wait()
	eventually(t, "every event is in the store", func() bool { return store.Len() >= goroutines*each })

	got := store.Events()
	if len(got) != goroutines*each {
		t.Fatalf("store holds %d events, want %d", len(got), goroutines*each)
	}
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.RequestID] {
			t.Fatalf("request %s stored twice", e.RequestID)
		}
		seen[e.RequestID] = true
	}
	for g := range goroutines {
		for i := range each {
			if id := fmt.Sprintf("user%d-%d", g, i); !seen[id] {
				t.Fatalf("request %s missing", id)
			}
		}
	}
	if d := store.Duplicates(); d != 0 {
		t.Errorf("%d events were written twice", d)
	}
	if got := h.metric(t, "vmcp_audit_events_total", "kind", "mcp"); got != goroutines*each {
		t.Errorf("vmcp_audit_events_total{kind=mcp} = %v", got)
	}
	if h.metric(t, "vmcp_audit_spilled_total") == 0 {
		t.Errorf("the load never overflowed the buffer; the test does not cover the spill path")
	}
	if got := h.metric(t, "vmcp_audit_dropped_total"); got != 0 {
		t.Errorf("lossless mode dropped %v events", got)
	}
}

func TestStoreOutageSpillsAndReplaysEverything(t *testing.T) {
	dir := t.TempDir()
	store := audittest.NewMemStore()
	store.Fail(errDown)
	h := newHarness(t, store, fast(dir))
	h.run(t)
	const n = 3000
	for i := range n {
		h.rec.Record(mcpEvent("alice", i))
	}
	eventually(t, "every event is spilled", func() bool { return h.metric(t, "vmcp_audit_spilled_total") == n })
	if store.Len() != 0 || len(segments(t, dir)) == 0 {
		t.Fatalf("during the outage: %d events stored, %d spill files", store.Len(), len(segments(t, dir)))
	}
	if calls, _ := store.InsertCalls(); calls == 0 {
		t.Fatal("the recorder never tried the store")
	}
	// Each event is a JSON line of well over 100 bytes.
	eventually(t, "the spill files' size is reported", func() bool { return h.metric(t, "vmcp_audit_spill_bytes") > 100*n })

	store.Fail(nil)
	eventually(t, "the spill is replayed", func() bool { return store.Len() == n })
	eventually(t, "replayed spill files are removed", func() bool { return len(segments(t, dir)) == 0 })
	if got := h.metric(t, "vmcp_audit_spill_bytes"); got != 0 {
		t.Errorf("vmcp_audit_spill_bytes = %v with no spill file left", got)
	}
	if d := store.Duplicates(); d != 0 {
		t.Errorf("%d events written twice", d)
	}
	if got := h.metric(t, "vmcp_audit_replayed_total"); got != n {
		t.Errorf("vmcp_audit_replayed_total = %v, want %d", got, n)
	}
	if got := h.metric(t, "vmcp_audit_dropped_total"); got != 0 {
		t.Errorf("dropped %v events", got)
	}
	var warned bool
	for _, e := range h.logs.FilterMessageSnippet("store write failed; spilling").All() {
		warned = warned || e.Level.String() == "warn"
	}
	if !warned {
		t.Error("the outage was not reported")
	}
	if h.logs.FilterMessageSnippet("store writes succeed again").Len() == 0 {
		t.Error("the recovery was not reported")
	}
}

func TestSlowStoreNeverHoldsUpRecord(t *testing.T) {
	store := audittest.NewMemStore()
	entered, release := store.Stall()
	defer release()
	opts := fast(t.TempDir())
	opts.Buffer, opts.BatchSize, opts.WriteTimeout = 8, 4, time.Minute
	h := newHarness(t, store, opts)
	h.run(t)

	h.rec.Record(mcpEvent("alice", 0))
	<-entered // Run is now inside a store write that will not return until release

	// With the owner stuck, only the buffer and the spill file are left: Record must return
	// every time. A blocking Record would hang here (and the test binary's timeout reports it).
	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			h.rec.Record(mcpEvent("alice", i))
		}
	}()
	<-done
	if got := h.metric(t, "vmcp_audit_buffer_length"); got > float64(opts.Buffer) {
		t.Errorf("buffer length %v exceeds its bound %d", got, opts.Buffer)
	}
	if spilled := h.metric(t, "vmcp_audit_spilled_total"); spilled < n-float64(opts.Buffer) {
		t.Errorf("only %v events took the overflow path while the store stalled", spilled)
	}
	release()
	eventually(t, "everything arrives once the store answers", func() bool { return store.Len() == n+1 })
	if d := store.Duplicates(); d != 0 {
		t.Errorf("%d duplicates", d)
	}
}

// Each kind is counted under its own label, egress included (its counter is resolved up
// front like the others').
func TestEveryKindIsCounted(t *testing.T) {
	h := newHarness(t, audittest.NewMemStore(), audit.Options{Mode: audit.Lossy, Buffer: 10})
	for _, k := range []audit.Kind{audit.KindAuthz, audit.KindMCP, audit.KindEgress, audit.KindEgress} {
		h.rec.Record(audit.Event{Kind: k})
	}
	for k, want := range map[audit.Kind]float64{audit.KindAuthz: 1, audit.KindMCP: 1, audit.KindEgress: 2} {
		if got := h.metric(t, "vmcp_audit_events_total", "kind", string(k)); got != want {
			t.Errorf("events_total{%s} = %v, want %v", k, got, want)
		}
	}
}

func TestLossyModeDropsAndCounts(t *testing.T) {
	store := audittest.NewMemStore()
	h := newHarness(t, store, audit.Options{Mode: audit.Lossy, Buffer: 10})
	// No Run yet: nothing drains the buffer.
	for i := range 25 {
		h.rec.Record(mcpEvent("alice", i))
	}
	h.rec.Record(audit.Event{Kind: audit.KindAuthz, Decision: "deny"})
	if got := h.metric(t, "vmcp_audit_dropped_total"); got != 16 {
		t.Errorf("vmcp_audit_dropped_total = %v, want 16", got)
	}
	if got := h.metric(t, "vmcp_audit_buffer_length"); got != 10 {
		t.Errorf("vmcp_audit_buffer_length = %v, want 10", got)
	}
	if got := h.metric(t, "vmcp_audit_events_total", "kind", "mcp"); got != 25 {
		t.Errorf("events_total{mcp} = %v, want 25", got)
	}
	if got := h.metric(t, "vmcp_audit_events_total", "kind", "authz"); got != 1 {
		t.Errorf("events_total{authz} = %v, want 1", got)
	}
	stop := h.run(t)
	eventually(t, "the drops are reported", func() bool {
		return h.logs.FilterMessage("audit: events dropped").Len() > 0
	})
	stop()
	if store.Len() != 10 {
		t.Errorf("store holds %d events, want the 10 that fitted", store.Len())
	}
}

func TestTornLastLineIsSkippedNotFatal(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 3 {
		ev := mcpEvent("bob", i)
		ev.ID, ev.Time = audit.NewID(time.Now()), time.Now().UTC()
		b, _ := json.Marshal(ev)
		lines = append(lines, string(b))
	}
	whole := strings.Join(lines, "\n") + "\n"
	torn := lines[0][:len(lines[0])/2] // a crash in the middle of the fourth line
	seg := filepath.Join(dir, "spill-"+audit.NewID(time.Now())+".jsonl")
	if err := os.WriteFile(seg, []byte(whole+strings.Replace(torn, "bob-0", "bob-3", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	store := audittest.NewMemStore()
	h := newHarness(t, store, fast(dir))
	h.run(t)
	eventually(t, "the whole lines are replayed", func() bool { return store.Len() == 3 })
	eventually(t, "the file is removed", func() bool { return len(segments(t, dir)) == 0 })
	warn := h.logs.FilterMessageSnippet("torn line")
	if warn.Len() != 1 {
		t.Fatalf("torn line not reported: %v", h.logs.All())
	}
	if f := warn.All()[0].ContextMap(); f["skipped"] != int64(1) {
		t.Errorf("warning fields %v", f)
	}
}

func TestDamagedLineInTheMiddleIsSkipped(t *testing.T) {
	dir := t.TempDir()
	a, b := mcpEvent("carol", 1), mcpEvent("carol", 2)
	a.ID, b.ID = audit.NewID(time.Now()), audit.NewID(time.Now())
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	content := string(ja) + "\n{not json\n" + string(jb) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "spill-0.jsonl"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	store := audittest.NewMemStore()
	h := newHarness(t, store, fast(dir))
	h.run(t)
	eventually(t, "both events arrive", func() bool { return store.Len() == 2 })
	eventually(t, "the damage is reported", func() bool {
		return h.logs.FilterMessageSnippet("lines that are not events").Len() == 1
	})
}

func TestShutdownFlushesEverythingToTheStore(t *testing.T) {
	dir := t.TempDir()
	store := audittest.NewMemStore()
	opts := fast(dir)
	// No time-based flush before shutdown: whatever reaches the store after the last full
	// batch was written by the shutdown itself.
	opts.Buffer, opts.BatchSize, opts.FlushInterval = 5000, 500, time.Hour
	h := newHarness(t, store, opts)
	stop := h.run(t)
	const n = 1234
	for i := range n {
		h.rec.Record(mcpEvent("dave", i))
	}
	stop()
	if store.Len() != n {
		t.Fatalf("after shutdown the store holds %d events, want %d", store.Len(), n)
	}
	if s := segments(t, dir); len(s) != 0 {
		t.Errorf("nothing should be spilled when the store is healthy: %v", s)
	}
	if got := len(h.logs.FilterMessage("audit event").All()); got != n {
		t.Errorf("%d audit log lines, want %d", got, n)
	}
}

func TestShutdownSpillsWhatTheStoreRefusesAndTheNextRunReplaysIt(t *testing.T) {
	dir := t.TempDir()
	store := audittest.NewMemStore()
	store.Fail(errDown)
	opts := fast(dir)
	opts.Buffer, opts.FlushInterval, opts.ShutdownTimeout = 1000, time.Hour, 200*time.Millisecond
	h := newHarness(t, store, opts)
	stop := h.run(t)
	for i := range 300 {
		h.rec.Record(mcpEvent("erin", i))
	}
	stop()
	// Recorded after Run returned: straight to the spill file.
	h.rec.Record(mcpEvent("erin", 300))
	if err := h.rec.Close(); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 || len(segments(t, dir)) == 0 {
		t.Fatalf("store %d events, spill files %v", store.Len(), segments(t, dir))
	}
	if err := h.rec.Run(context.Background()); err == nil {
		t.Error("Run after Close should fail")
	}

	store.Fail(nil)
	next := newHarness(t, store, fast(dir))
	next.run(t)
	eventually(t, "the next run replays the previous run's spill", func() bool { return store.Len() == 301 })
	eventually(t, "and removes it", func() bool { return len(segments(t, dir)) == 0 })
}

func TestCloseWithoutRunSpillsTheBuffer(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, audittest.NewMemStore(), fast(dir))
	for i := range 10 {
		h.rec.Record(mcpEvent("frank", i))
	}
	if err := h.rec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.rec.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	var lines int
	for _, s := range segments(t, dir) {
		lines += strings.Count(readFile(t, s), "\n")
	}
	if lines != 10 {
		t.Errorf("%d events spilled, want 10", lines)
	}
	h.rec.Record(mcpEvent("frank", 11))
	if got := h.metric(t, "vmcp_audit_dropped_total"); got != 1 {
		t.Errorf("an event recorded after Close: dropped_total = %v, want 1", got)
	}
}

func TestSpillDirectoryBelongsToOneRecorder(t *testing.T) {
	dir := t.TempDir()
	newHarness(t, audittest.NewMemStore(), fast(dir))
	_, err := audit.NewRecorder(audittest.NewMemStore(), fast(dir), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second recorder on the same spill directory: err = %v", err)
	}
}

func TestRunTwiceFails(t *testing.T) {
	h := newHarness(t, audittest.NewMemStore(), fast(t.TempDir()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.rec.Run(ctx); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if err := h.rec.Run(ctx); err == nil {
		t.Error("a second Run was accepted")
	}
}

func TestAnEventTheStoreRefusesIsSetAsideAndTheRestArrive(t *testing.T) {
	dir := t.TempDir()
	store := audittest.NewMemStore()
	store.Refuse(func(e audit.Event) bool { return e.RequestID == "poison" })
	h := newHarness(t, store, fast(dir))
	h.run(t)
	const n = 100
	for i := range n {
		h.rec.Record(mcpEvent("gina", i))
		if i == 37 {
			ev := mcpEvent("gina", i)
			ev.RequestID = "poison"
			h.rec.Record(ev)
		}
	}
	// Only writes that succeed elsewhere tell a bad event from a dead store; ongoing traffic
	// provides them.
	traffic := 0
	eventually(t, "the refused event is set aside", func() bool {
		traffic++
		h.rec.Record(mcpEvent("traffic", traffic))
		return h.metric(t, "vmcp_audit_rejected_total") == 1
	})
	eventually(t, "every other event arrives", func() bool { return store.Len() == n+traffic })
	rejected := readFile(t, filepath.Join(dir, "rejected.jsonl"))
	if strings.Count(rejected, "\n") != 1 || !strings.Contains(rejected, `"request_id":"poison"`) {
		t.Errorf("rejected.jsonl = %q", rejected)
	}
}

func TestRecordFillsIDAndTimeAndKeepsGivenOnes(t *testing.T) {
	store := audittest.NewMemStore()
	h := newHarness(t, store, fast(t.TempDir()))
	stop := h.run(t)
	given := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h.rec.Record(audit.Event{Kind: audit.KindMCP, RequestID: "a"})
	h.rec.Record(audit.Event{Kind: audit.KindMCP, RequestID: "b", ID: "fixed-id", Time: given})
	stop()
	for _, e := range store.Events() {
		switch e.RequestID {
		case "a":
			if len(e.ID) != 26 || e.Time.IsZero() {
				t.Errorf("filled event: id %q time %v", e.ID, e.Time)
			}
		case "b":
			if e.ID != "fixed-id" || !e.Time.Equal(given) {
				t.Errorf("given id/time replaced: %q %v", e.ID, e.Time)
			}
		}
	}
}

func TestArgumentModesReachTheStoreAndTheLogRedacted(t *testing.T) {
	for _, mode := range []audit.ArgumentMode{audit.ArgumentsOff, audit.ArgumentsKeys, audit.ArgumentsFull} {
		t.Run(string(mode), func(t *testing.T) {
			store := audittest.NewMemStore()
			opts := fast(t.TempDir())
			opts.Arguments = mode
			h := newHarness(t, store, opts)
			stop := h.run(t)
			h.rec.Record(audit.Event{
				Kind: audit.KindMCP, Method: "resources/read", Subject: "hana",
				Target:    "https://svc:pw-in-uri-9@files.example.com/report.pdf",
				Arguments: audit.SecretArguments(),
			})
			stop()
			evs := store.Events()
			if len(evs) != 1 {
				t.Fatalf("%d events stored", len(evs))
			}
			stored, _ := json.Marshal(evs[0])
			lines := encodedLogs(t, h.logs)
			var line string
			for _, l := range lines {
				if strings.Contains(l, `"msg":"audit event"`) {
					line = l
				}
			}
			if line == "" || !strings.Contains(line, `"logger":"audit"`) || !strings.Contains(line, `"event_id":"`+evs[0].ID+`"`) {
				t.Fatalf("no audit line for the event in %v", lines)
			}
			for _, s := range append(audit.TestSecrets, "pw-in-uri-9") {
				if strings.Contains(string(stored), s) {
					t.Errorf("stored event holds %q: %s", s, stored)
				}
				for _, l := range lines {
					if strings.Contains(l, s) {
						t.Errorf("log line holds %q: %s", s, l)
					}
				}
			}
			switch mode {
			case audit.ArgumentsOff:
				if evs[0].Arguments != nil || strings.Contains(line, `"arguments"`) {
					t.Errorf("off mode recorded arguments: %v / %s", evs[0].Arguments, line)
				}
			case audit.ArgumentsKeys:
				if evs[0].Arguments["password"] != nil || !strings.Contains(line, `"password":null`) {
					t.Errorf("keys mode: %v / %s", evs[0].Arguments, line)
				}
			case audit.ArgumentsFull:
				if evs[0].Arguments["password"] != audit.Redacted || !strings.Contains(line, `"password":"[redacted]"`) {
					t.Errorf("full mode: %v / %s", evs[0].Arguments, line)
				}
			}
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for name, o := range map[string]audit.Options{
		"unknown argument mode":        {Arguments: "some", SpillDir: t.TempDir()},
		"unknown mode":                 {Mode: "best-effort", SpillDir: t.TempDir()},
		"lossless without a spill dir": {Mode: audit.Lossless},
		"negative buffer":              {Buffer: -1, SpillDir: t.TempDir()},
	} {
		if _, err := audit.NewRecorder(audittest.NewMemStore(), o, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

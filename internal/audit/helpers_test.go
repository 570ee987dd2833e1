package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// fast are Options that make the pipeline turn over in milliseconds, so that tests wait for
// conditions rather than for time.
func fast(dir string) audit.Options {
	return audit.Options{
		Mode: audit.Lossless, Arguments: audit.ArgumentsKeys, SpillDir: dir,
		Buffer: 64, BatchSize: 16, FlushInterval: 2 * time.Millisecond,
		WriteTimeout: 5 * time.Second, ShutdownTimeout: 5 * time.Second,
		RetryMin: 2 * time.Millisecond, RetryMax: 10 * time.Millisecond,
	}
}

type harness struct {
	rec  *audit.Recorder
	reg  *prometheus.Registry
	logs *observer.ObservedLogs
	log  *zap.Logger
}

func newHarness(t *testing.T, store audit.Store, opts audit.Options) *harness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	reg := prometheus.NewRegistry()
	rec, err := audit.NewRecorder(store, opts, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return &harness{rec: rec, reg: reg, logs: logs, log: log}
}

// run starts Run and returns a stop function that cancels it and waits for it to return.
func (h *harness) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.rec.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// metric reads a counter or gauge ("" labels: the unlabelled series).
func (h *harness) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds; it fails the test after a generous deadline, which only
// a broken pipeline reaches.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not synchronisation
	}
}

// segments lists the spill segments in dir.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "spill-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// encodedLogs renders every observed entry as the JSON line production would write.
func encodedLogs(t *testing.T, logs *observer.ObservedLogs) []string {
	t.Helper()
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	var out []string
	for _, e := range logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.String())
		buf.Free()
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mcpEvent(sub string, i int) audit.Event {
	return audit.Event{
		Kind: audit.KindMCP, Subject: sub, RequestID: sub + "-" + itoa(i), VirtualServer: "team",
		Connector: "notes", Method: "tools/call", Target: "notes__search", Outcome: audit.OutcomeOK,
		LatencyMicros: 1500, Arguments: map[string]any{"query": "q", "limit": 5},
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

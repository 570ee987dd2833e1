//go:build soak

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// Soak bounds, stated here and printed with what was measured. Growth is measured from a baseline
// taken after a warm-up, to the end of the run once traffic has stopped and settled.
const (
	soakWorkers         = 4
	soakRestartEvery    = 10 * time.Second // the "pulse" connector is killed and restarted
	soakRestartDowntime = time.Second
	maxGoroutineGrowth  = 50
	maxRSSGrowth        = 64 << 20 // bytes
)

// soakDuration is VMCP_SOAK_DURATION (a Go duration), 2 minutes by default.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("VMCP_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("VMCP_SOAK_DURATION: %v", err)
		}
		return d
	}
	return 2 * time.Minute
}

// countingTransport counts the requests that reached Envoy (got an answer), which is what
// vmcp's authz audits one event each for.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		c.n.Add(1)
	}
	return resp, err
}

// soakStats are what the workers did.
type soakStats struct {
	ops, toolCalls, pulseFailures, sessions atomic.Int64
	mu                                      sync.Mutex
	failures                                []string
}

func (s *soakStats) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) < 20 {
		s.failures = append(s.failures, fmt.Sprintf(format, args...))
	}
}

// metrics reads vmcp's go_goroutines and process_resident_memory_bytes from /metrics on its own
// listener.
func metrics(t *testing.T, httpAddr string) (goroutines, rss float64) {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "go_goroutines":
			goroutines = v
		case "process_resident_memory_bytes":
			rss = v
		}
	}
	return goroutines, rss
}

// TestSoak runs steady mixed traffic — initialize, tools/list, allowed and denied calls — from
// several clients for VMCP_SOAK_DURATION while a connector is killed and restarted underneath.
// Afterwards vmcp's goroutines and memory are within the stated bounds of the warmed-up
// baseline, no request other than those to the restarting connector failed, and the audit trail
// holds exactly one event per request sent.
func TestSoak(t *testing.T) {
	duration := soakDuration(t)
	s := startSystem(t)
	s.addConnector(harness.Connector{Name: "pulse", Timeout: 2 * time.Second, CallTimeout: 5 * time.Second}, nil)
	// pulse keeps sessions (go-sdk's stateful mode) and forgets them all at each restart: vmcp
	// must open new ones and send the calls again, unseen by the clients.
	pulse := &restartingConnector{t: t, addr: s.addrs["pulse"], mk: func() http.Handler { return weather.New(weather.Options{}) }}
	pulse.start()
	defer pulse.stop()
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "soak", Connectors: []string{"notes", "pulse"}, Extra: `access:
  tools:
    "notes__list_*": [admins]
`})
	})
	const user = "soaker"
	token := s.token(user, "soak", "--groups", "eng")
	counter := &countingTransport{base: &http.Transport{MaxIdleConnsPerHost: 64}}
	httpClient := &http.Client{Transport: edgeclient.Bearer{Token: token, Base: counter}}
	connectSoak := func(ctx context.Context) (*mcp.ClientSession, error) {
		client := mcp.NewClient(&mcp.Implementation{Name: "soak", Version: "1"}, nil)
		return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: s.url("soak"), HTTPClient: httpClient}, nil)
	}
	harness.Eventually(t, 20*time.Second, func() error {
		cs, err := connectSoak(context.Background())
		if err == nil {
			cs.Close()
		}
		return err
	})

	var stats soakStats
	ctx, stopTraffic := context.WithTimeout(context.Background(), duration)
	defer stopTraffic()
	var workers sync.WaitGroup
	for w := range soakWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			soakWorker(ctx, w, connectSoak, &stats)
		}()
	}
	// The connector restarts underneath, until the traffic stops.
	restarts := 0
	go func() {
		tick := time.NewTicker(soakRestartEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				pulse.stop()
				restarts++
				select {
				case <-ctx.Done():
				case <-time.After(soakRestartDowntime):
				}
				pulse.start()
			}
		}
	}()
	// Baseline once warm: sessions made, caches filled, pools grown.
	select {
	case <-time.After(min(15*time.Second, duration/4)):
	case <-ctx.Done():
	}
	baseG, baseRSS := metrics(t, s.addrs["http"])
	workers.Wait()
	sent := counter.n.Load()

	// Settled: idle connections closed, per-request goroutines gone.
	var endG, endRSS float64
	harness.Eventually(t, 30*time.Second, func() error {
		endG, endRSS = metrics(t, s.addrs["http"])
		if endG > baseG+maxGoroutineGrowth {
			return fmt.Errorf("goroutines %v, baseline %v", endG, baseG)
		}
		return nil
	})
	t.Logf("soak: %s, %d workers, %d operations (%d tool calls), %d sessions, %d HTTP requests, %d connector restarts, %d calls to the restarting connector failed",
		duration, soakWorkers, stats.ops.Load(), stats.toolCalls.Load(), stats.sessions.Load(), sent, restarts, stats.pulseFailures.Load())
	t.Logf("soak: vmcp goroutines %v -> %v (bound +%d), RSS %.1f MiB -> %.1f MiB (bound +%d MiB)",
		baseG, endG, maxGoroutineGrowth, baseRSS/(1<<20), endRSS/(1<<20), maxRSSGrowth>>20)
	if endRSS > baseRSS+maxRSSGrowth {
		t.Errorf("vmcp RSS grew by %.1f MiB, bound %d MiB", (endRSS-baseRSS)/(1<<20), maxRSSGrowth>>20)
	}
	for _, f := range stats.failures {
		t.Errorf("unexpected failure: %s", f)
	}
	if stats.ops.Load() < 100 {
		t.Errorf("only %d operations in %s", stats.ops.Load(), duration)
	}

	// One audit event per request sent, no more, no fewer: the request's own, or authz's
	// decision on it where it has none.
	db := s.openStore(t)
	defer db.Close()
	var n int
	harness.Eventually(t, 30*time.Second, func() error {
		evs, err := auditEvents(db, audit.Filter{Subject: user})
		if err != nil {
			return err
		}
		n = 0
		for _, e := range evs {
			if e.Kind != audit.KindEgress { // not the aggregator's own requests for the user
				n++
			}
		}
		if int64(n) != sent {
			return fmt.Errorf("%d audit events, %d requests sent", n, sent)
		}
		return nil
	})
	t.Logf("soak: %d audit events for %d requests", n, sent)
}

// soakWorker loops over the mix until stop ends: a new session every 25 rounds, then tools/list,
// a notes call, a call to the restarting connector and a call the policy denies. Requests run on
// their own context, never cancelled half-way: a request cut off after authz saw it would be
// audited but not counted as sent.
func soakWorker(stop context.Context, w int, connect func(context.Context) (*mcp.ClientSession, error), stats *soakStats) {
	ctx := context.Background()
	var cs *mcp.ClientSession
	defer func() {
		if cs != nil {
			cs.Close()
		}
	}()
	for round := 0; stop.Err() == nil; round++ {
		if cs == nil || round%25 == 0 {
			if cs != nil {
				cs.Close()
			}
			var err error
			if cs, err = connect(ctx); err != nil {
				if stop.Err() == nil {
					stats.fail("worker %d: initialize: %v", w, err)
				}
				cs = nil
				continue
			}
			stats.sessions.Add(1)
		}
		steps := []struct {
			name string
			run  func() error
		}{
			{"tools/list", func() error {
				res, err := cs.ListTools(ctx, nil)
				if err == nil && len(res.Tools) < 2 {
					err = fmt.Errorf("only %d tools", len(res.Tools))
				}
				return err
			}},
			// A search, not add_note: the example notes store holds 10,000 notes, which a soak
			// of a few minutes would fill (each add_note then a tool error).
			{"notes__search_notes", func() error {
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "notes__search_notes", Arguments: map[string]any{"query": fmt.Sprint("w", w)}})
				if err == nil && res.IsError {
					err = errors.New("tool error")
				}
				return err
			}},
			{"notes__list_notes (denied)", func() error {
				_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "notes__list_notes", Arguments: map[string]any{}})
				if err == nil || !strings.Contains(err.Error(), "denied by policy") {
					return fmt.Errorf("want a policy denial, got %v", err)
				}
				return nil
			}},
		}
		for _, step := range steps {
			if stop.Err() != nil {
				return
			}
			stats.ops.Add(1)
			if step.name != "tools/list" {
				stats.toolCalls.Add(1)
			}
			if err := step.run(); err != nil && stop.Err() == nil {
				stats.fail("worker %d: %s: %v", w, step.name, err)
			}
		}
		// The restarting connector: failures are expected while it is down, and must say so.
		if stop.Err() != nil {
			return
		}
		stats.ops.Add(1)
		stats.toolCalls.Add(1)
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "pulse__get_forecast", Arguments: map[string]any{"city": "Oslo", "days": 1}})
		switch {
		case stop.Err() != nil:
		case err != nil && strings.Contains(err.Error(), `connector "pulse"`):
			stats.pulseFailures.Add(1)
		case err != nil && strings.Contains(err.Error(), "terminated without response"):
			// Killed while answering: its answer had begun, so the cut reaches the client as
			// is. Only this call fails.
			stats.pulseFailures.Add(1)
		case err != nil:
			stats.fail("worker %d: pulse__get_forecast: unclear error %v", w, err)
		case res.IsError:
			stats.fail("worker %d: pulse__get_forecast: tool error %v", w, res.Content)
		}
	}
}

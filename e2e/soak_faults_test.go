//go:build soak

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/sse"
)

// soakFault is one fault injected while the fault workload runs: inject returns once the fault
// has happened and the system has been brought back (by vmcp itself or by the operator's
// restart it stands for). Every count the phase prints must then be zero.
type soakFault struct {
	name   string
	inject func(t *testing.T, s *system)
}

// soakFaults are the phases of TestSoakFaults, run in order on one system. A new fault is one
// more row.
var soakFaults = []soakFault{
	{"vmcp SIGKILL and restart", func(t *testing.T, s *system) {
		if err := syscall.Kill(s.vmcp.Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-s.vmcp.Done()
		s.restartVMCP()
	}},
	{"Envoy death", func(t *testing.T, s *system) {
		before := strings.Count(s.vmcp.Output(), "envoy restarted and ready")
		if err := syscall.Kill(childPid(t, s.vmcp.Pid(), "envoy"), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 60*time.Second, func() error {
			if strings.Count(s.vmcp.Output(), "envoy restarted and ready") == before {
				return fmt.Errorf("Envoy has not been restarted yet")
			}
			return nil
		})
	}},
	{"half-written config", func(t *testing.T, s *system) {
		// The pause of a tool that writes in two steps: a second of traffic on the first part.
		s.writeConfigInTwoSteps(t, s.configYAML(), func() {
			pause := time.NewTimer(time.Second)
			<-pause.C
		})
	}},
}

// faultCounts are one phase's results.
type faultCounts struct {
	answered, errors, sessionsLost, auditMissing atomic.Int64
	mu                                           sync.Mutex
	cities                                       []string // of answered calls
	firstErr                                     error
}

func (c *faultCounts) failed(err error) {
	c.errors.Add(1)
	c.mu.Lock()
	if c.firstErr == nil {
		c.firstErr = err
	}
	c.mu.Unlock()
}

func (c *faultCounts) ok(city string) {
	c.answered.Add(1)
	c.mu.Lock()
	c.cities = append(c.cities, city)
	c.mu.Unlock()
}

// transient says whether a client would retry err: vmcp or Envoy unreachable (refused or cut
// connections) or a 503, which is what the edge answers while vmcp is down.
func transient(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "EOF", "Service Unavailable", "503", "broken pipe"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// withRetry runs call until it succeeds, fails for a reason no client retries, or 30 s pass,
// as a client that honours Retry-After does.
func withRetry(call func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := call()
		if !transient(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(250 * time.Millisecond)
		<-t.C
	}
}

// modernCall is one 2026-07-28 tools/call: no session, method and name in headers too.
func modernCall(url, token, tool string, args map[string]any) error {
	body := modernRequest("tools/call", map[string]any{"name": tool, "arguments": args})
	resp, err := http.DefaultClient.Do(newModernRequest(context.Background(), url, token, "tools/call", tool, body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d %s", resp.StatusCode, raw)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		if ev, err := sse.NewReader(bytes.NewReader(raw)).Next(); err == nil {
			raw = ev.Data
		}
	}
	var m struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
		Error any `json:"error"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Error != nil || m.Result == nil || m.Result.IsError {
		return fmt.Errorf("not a result: %s", raw)
	}
	return nil
}

// faultLoad is the workload of the fault phases: 20 calls a second from two go-sdk clients in
// 2025-11-25 sessions and two session-less 2026-07-28 clients, each its own user; every call has
// its own city, so that its audit event can be found.
type faultLoad struct {
	s        *system
	sessions []*mcp.ClientSession
	tokens   map[string]string
	stop     chan struct{}
	wg       sync.WaitGroup
}

const faultTool = "weather__get_forecast"

func startFaultLoad(t *testing.T, s *system, phase int, counts *faultCounts, sessions []*mcp.ClientSession, tokens map[string]string) *faultLoad {
	l := &faultLoad{s: s, sessions: sessions, tokens: tokens, stop: make(chan struct{})}
	for c := range 4 {
		user := fmt.Sprintf("fault%d", c)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(200 * time.Millisecond) // 5 a second each, 20 in all
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				city := fmt.Sprintf("p%d-%s-%d", phase, user, i)
				args := map[string]any{"city": city, "days": 1}
				var err error
				if c < 2 {
					cs := l.sessions[c]
					err = withRetry(func() error {
						res, err := tryCallTool(cs, faultTool, args)
						if err == nil && res.IsError {
							err = fmt.Errorf("tool error: %v", res.Content)
						}
						return err
					})
				} else {
					err = withRetry(func() error { return modernCall(s.url("demo"), tokens[user], faultTool, args) })
				}
				if err != nil {
					counts.failed(fmt.Errorf("%s: %w", user, err))
					continue
				}
				counts.ok(city)
			}
		}()
	}
	return l
}

func (l *faultLoad) end() { close(l.stop); l.wg.Wait() }

// TestSoakFaults runs the fault workload through each fault of soakFaults in turn and prints,
// per fault, the requests answered, the errors clients saw (after retrying what clients retry),
// the sessions lost and the answered requests with no audit event. Each must be zero.
func TestSoakFaults(t *testing.T) {
	s := startSystem(t, withFullArguments)
	tokens := map[string]string{}
	var sessions []*mcp.ClientSession
	for c := range 4 {
		user := fmt.Sprintf("fault%d", c)
		tokens[user] = s.token(user, "demo")
		if c < 2 {
			cs := connect(t, s.url("demo"), tokens[user])
			defer cs.Close()
			sessions = append(sessions, cs)
		}
	}
	type row struct {
		name                                         string
		answered, errors, sessionsLost, auditMissing int64
	}
	var rows []row
	for p, f := range soakFaults {
		var counts faultCounts
		load := startFaultLoad(t, s, p, &counts, sessions, tokens)
		harness.Eventually(t, 30*time.Second, func() error {
			if counts.answered.Load() < 20 {
				return fmt.Errorf("warming up")
			}
			return nil
		})
		f.inject(t, s)
		// Traffic after the recovery, long enough to cross every retry.
		from := counts.answered.Load()
		harness.Eventually(t, 60*time.Second, func() error {
			if counts.answered.Load()-from < 60 {
				return fmt.Errorf("%d calls answered since the recovery", counts.answered.Load()-from)
			}
			return nil
		})
		load.end()
		// Every session still works: no client had to initialize again.
		for i, cs := range sessions {
			if _, err := tryCallTool(cs, faultTool, map[string]any{"city": "check", "days": 1}); err != nil {
				counts.sessionsLost.Add(1)
				t.Logf("%s: session %d lost: %v", f.name, i, err)
				var cerr error
				if sessions[i], cerr = tryConnect(s.url("demo"), tokens[fmt.Sprintf("fault%d", i)]); cerr != nil {
					t.Fatalf("cannot open a new session: %v", cerr)
				}
			}
		}
		// Every answered call has its audit event (given the pipeline time to write it).
		counts.mu.Lock()
		cities := append([]string(nil), counts.cities...)
		counts.mu.Unlock()
		var missing []string
		deadline := time.Now().Add(30 * time.Second)
		for {
			seen := map[string]int{}
			for c := range 4 {
				for city, n := range s.auditedCities(fmt.Sprintf("fault%d", c), faultTool) {
					seen[city] += n
				}
			}
			missing = missing[:0]
			for _, c := range cities {
				if seen[c] == 0 {
					missing = append(missing, c)
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
			tick := time.NewTimer(500 * time.Millisecond)
			<-tick.C
		}
		counts.auditMissing.Store(int64(len(missing)))
		r := row{f.name, counts.answered.Load(), counts.errors.Load(), counts.sessionsLost.Load(), counts.auditMissing.Load()}
		rows = append(rows, r)
		if r.errors != 0 || r.sessionsLost != 0 || r.auditMissing != 0 {
			t.Errorf("%s: %d errors (first: %v), %d sessions lost, %d audit events missing %v; want none",
				f.name, r.errors, counts.firstErr, r.sessionsLost, r.auditMissing, missing[:min(len(missing), 10)])
		}
	}
	t.Logf("soak faults: %-28s %9s %7s %14s %15s", "fault", "answered", "errors", "sessions lost", "audit missing")
	for _, r := range rows {
		t.Logf("soak faults: %-28s %9d %7d %14d %15d", r.name, r.answered, r.errors, r.sessionsLost, r.auditMissing)
	}
}

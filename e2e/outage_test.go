package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
)

// checkRetryable posts a ping and checks that the refusal is one MCP clients retry on: 503 with
// Retry-After and a JSON-RPC error body, not Envoy's empty answer.
func checkRetryable(t *testing.T, url, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		json.Unmarshal(raw, &msg) != nil || msg.JSONRPC != "2.0" || msg.Error == nil {
		t.Errorf("refused with %d (Retry-After %q) %q; want 503, Retry-After and a JSON-RPC error", resp.StatusCode, resp.Header.Get("Retry-After"), raw)
	}
}

// caller keeps one client calling a tool, 20 calls a second, until stopped: call i sends
// args(i), and the caller keeps which calls were answered and how many failed.
type caller struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	answered   []int64
	firstErr   error
	stop       chan struct{}
	done       chan struct{}
}

func startCaller(t *testing.T, cs *mcp.ClientSession, tool string, args func(i int64) map[string]any) *caller {
	c := &caller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		// 20 calls a second, the rate of the workload these faults were found under.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			res, err := tryCallTool(cs, tool, args(i))
			if err == nil && res.IsError {
				err = fmt.Errorf("tool error: %v", res.Content)
			}
			c.mu.Lock()
			if err != nil {
				c.failed.Add(1)
				if c.firstErr == nil {
					c.firstErr = err
				}
			} else {
				c.ok.Add(1)
				c.answered = append(c.answered, i)
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.end)
	return c
}

func (c *caller) answeredCalls() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.answered...)
}

// waitCalls returns once n more calls have been answered since it was called.
func (c *caller) waitCalls(t *testing.T, n int64) {
	t.Helper()
	from := c.ok.Load()
	harness.Eventually(t, 30*time.Second, func() error {
		if got := c.ok.Load() - from; got < n {
			return fmt.Errorf("%d of %d calls answered", got, n)
		}
		return nil
	})
}

// waitAttempts returns once n more calls have been made (answered or failed).
func (c *caller) waitAttempts(t *testing.T, n int64) {
	t.Helper()
	from := c.ok.Load() + c.failed.Load()
	harness.Eventually(t, 30*time.Second, func() error {
		if got := c.ok.Load() + c.failed.Load() - from; got < n {
			return fmt.Errorf("%d of %d calls made", got, n)
		}
		return nil
	})
}

func (c *caller) end() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}

// A configuration file written in two steps with a pause between — the first part alone a valid
// configuration with no connectors and no virtual servers — never takes the virtual server away:
// a client calling all along sees no failure, and the whole file is applied once it is there.
func TestAConfigFileWrittenInTwoStepsNeverTakesAVirtualServerOffline(t *testing.T) {
	s := startSystem(t)
	cs := connect(t, s.url("demo"), s.token("carol", "demo"))
	defer cs.Close()
	c := startCaller(t, cs, "weather__get_forecast", func(int64) map[string]any { return map[string]any{"city": "Oslo", "days": 1} })
	c.waitCalls(t, 3)

	reloads := strings.Count(s.vmcp.Output(), "config reloaded")
	// The pause: until the client has made several calls on the first part.
	s.writeConfigInTwoSteps(t, s.configYAML(harness.VirtualServer{Name: "extra", Connectors: []string{"weather"}}), func() { c.waitAttempts(t, 5) })
	harness.Eventually(t, 10*time.Second, func() error {
		if strings.Count(s.vmcp.Output(), "config reloaded") == reloads {
			return fmt.Errorf("the whole file is not applied yet")
		}
		return nil
	})
	c.waitCalls(t, 3)
	c.end()
	if n := c.failed.Load(); n != 0 {
		t.Errorf("%d of %d calls failed while the file was written in two steps; first: %v", n, n+c.ok.Load(), c.firstErr)
	}
	if !strings.Contains(s.vmcp.Output(), "removes every virtual server") {
		t.Errorf("holding back the first part was not logged")
	}
}

// writeConfigInTwoSteps writes whole over the configuration file in two writes, as a tool that
// writes in two steps does: the first ends where the connectors begin, alone a valid
// configuration with no connectors and no virtual servers. pause runs between the two, once vmcp
// has read the first part (held it back, or applied it).
func (s *system) writeConfigInTwoSteps(t *testing.T, whole string, pause func()) {
	t.Helper()
	cut := strings.Index(whole, "\nconnectors:") + 1
	reloads := strings.Count(s.vmcp.Output(), "config reloaded")
	held := strings.Count(s.vmcp.Output(), "holding it back")
	f, err := os.OpenFile(s.configPath, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(whole[:cut]); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		out := s.vmcp.Output()
		if strings.Count(out, "holding it back") == held && strings.Count(out, "config reloaded") == reloads {
			return fmt.Errorf("vmcp has not read the first part yet")
		}
		return nil
	})
	pause()
	if _, err := f.WriteString(whole[cut:]); err != nil {
		t.Fatal(err)
	}
}

// restartVMCP starts vmcp again on the same configuration (after it was killed) and waits until
// it serves.
func (s *system) restartVMCP() {
	s.t.Helper()
	if err := s.run("vmcp dev (restarted)"); err != nil {
		s.t.Fatalf("vmcp did not serve again after a restart: %v", err)
	}
}

// auditedCities opens the stopped vmcp's store and counts, per city argument, the user's
// tools/call events for tool.
func (s *system) auditedCities(user, tool string) map[string]int {
	s.t.Helper()
	db := s.openStore(s.t)
	defer db.Close()
	evs, err := auditEvents(db, audit.Filter{Subject: user, Target: tool})
	if err != nil {
		s.t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range evs {
		if e.Kind == audit.KindMCP && e.Method == "tools/call" {
			city, _ := e.Arguments["city"].(string)
			seen[city]++
		}
	}
	return seen
}

// waitReplayed waits until the audit spill directory holds no spill segment: whatever the last
// run left has been replayed into the store.
func (s *system) waitReplayed() {
	s.t.Helper()
	harness.Eventually(s.t, 30*time.Second, func() error {
		left, _ := filepath.Glob(filepath.Join(s.dir, "data", "audit-spill", "spill-*.jsonl"))
		if len(left) > 0 {
			return fmt.Errorf("%d spill files not replayed yet", len(left))
		}
		return nil
	})
}

// withFullArguments has the audit trail record tool arguments whole, so that a test can tell
// each call's event apart by them.
func withFullArguments(c *harness.Config) { c.Sections = "audit: {arguments: full}\n" }

// vmcp killed with SIGKILL mid-load — no drain, no flush — loses no audit event: after the
// restart every call the client got an answer for has exactly one event.
func TestEveryAnsweredCallIsAuditedOnceAfterVMCPIsKilled(t *testing.T) {
	s := startSystem(t, withFullArguments)
	cs := connect(t, s.url("demo"), s.token("kim", "demo"))
	defer cs.Close()
	city := func(i int64) string { return fmt.Sprintf("city-%d", i) }
	c := startCaller(t, cs, "weather__get_forecast", func(i int64) map[string]any { return map[string]any{"city": city(i), "days": 1} })
	c.waitCalls(t, 30)
	if err := syscall.Kill(s.vmcp.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.vmcp.Done()
	c.end()
	answered := c.answeredCalls()

	s.restartVMCP()
	s.waitReplayed()
	if err := s.vmcp.Stop(); err != nil {
		t.Fatalf("vmcp did not stop cleanly after the restart: %v", err)
	}
	seen := s.auditedCities("kim", "weather__get_forecast")
	var missing []string
	for _, i := range answered {
		if seen[city(i)] == 0 {
			missing = append(missing, city(i))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d answered calls have no audit event after the kill and restart: %v", len(missing), len(answered), missing)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("call %s audited %d times", k, n)
		}
	}
	t.Logf("%d calls answered before the kill, %d failed; %d events", len(answered), c.failed.Load(), len(seen))
}

// Envoy dying under vmcp dev (a crash, a stray kill) does not end the developer's session: vmcp
// says so, starts Envoy again, and the client's MCP session goes on where it was; calls answered
// before are audited.
func TestVMCPDevRestartsAnEnvoyThatDiesAndTheSessionGoesOn(t *testing.T) {
	s := startSystem(t)
	cs := connect(t, s.url("demo"), s.token("lee", "demo"))
	defer cs.Close()
	if res := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Turku", "days": 1}); res.IsError {
		t.Fatalf("before: %v", res.Content)
	}
	old := childPid(t, s.vmcp.Pid(), "envoy")
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(s.vmcp.Output(), "envoy restarted and ready") {
			return fmt.Errorf("Envoy has not been restarted yet")
		}
		return nil
	})
	if got := childPid(t, s.vmcp.Pid(), "envoy"); got == old {
		t.Fatalf("the Envoy child is still pid %d", old)
	}
	// The same session, no new initialize.
	harness.Eventually(t, 30*time.Second, func() error {
		res, err := tryCallTool(cs, "weather__get_forecast", map[string]any{"city": "Turku", "days": 2})
		if err != nil {
			return err
		}
		if res.IsError {
			return fmt.Errorf("tool error: %v", res.Content)
		}
		return nil
	})
	select {
	case <-s.vmcp.Done():
		t.Fatalf("vmcp dev exited when Envoy died: %v", s.vmcp.Err())
	default:
	}
	if !strings.Contains(s.vmcp.Output(), "envoy exited; restarting it") {
		t.Errorf("the restart was not logged")
	}
	if err := s.vmcp.Stop(); err != nil {
		t.Fatalf("vmcp did not stop cleanly: %v", err)
	}
	if n := len(s.auditedCities("lee", "weather__get_forecast")); n == 0 {
		t.Errorf("the calls made around Envoy's restart were not audited")
	}
}

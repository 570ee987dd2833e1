package e2e

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// caller keeps one client calling a tool until stopped, counting answers and failures.
type caller struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   error
	stop       chan struct{}
	done       chan struct{}
}

func startCaller(t *testing.T, cs *mcpSession, tool string, args map[string]any) *caller {
	c := &caller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		// 20 calls a second, the rate of the workload these faults were found under.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			res, err := tryCallTool(cs.ClientSession, tool, args)
			if err == nil && res.IsError {
				err = fmt.Errorf("tool error: %v", res.Content)
			}
			if err != nil {
				c.failed.Add(1)
				c.mu.Lock()
				if c.firstErr == nil {
					c.firstErr = err
				}
				c.mu.Unlock()
				continue
			}
			c.ok.Add(1)
		}
	}()
	t.Cleanup(c.end)
	return c
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
	c := startCaller(t, &mcpSession{cs}, "weather__get_forecast", map[string]any{"city": "Oslo", "days": 1})
	c.waitCalls(t, 3)

	whole := configYAML(s.addrs, s.dir+"/data", s.auth, "  - name: extra\n    connectors: [weather]\n", s.top, s.connectors)
	cut := strings.Index(whole, "\nconnectors:") + 1
	reloads := strings.Count(s.vmcp.Output(), "config reloaded")
	f, err := os.OpenFile(s.configPath, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(whole[:cut]); err != nil {
		t.Fatal(err)
	}
	// The pause: until vmcp has read the first part (held back, or applied) and the client has
	// made several calls since.
	harness.Eventually(t, 10*time.Second, func() error {
		out := s.vmcp.Output()
		if !strings.Contains(out, "holding it back") && strings.Count(out, "config reloaded") == reloads {
			return errorf("vmcp has not read the first part yet")
		}
		return nil
	})
	c.waitCalls(t, 5)
	if _, err := f.WriteString(whole[cut:]); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if strings.Count(s.vmcp.Output(), "config reloaded") == reloads {
			return errorf("the whole file is not applied yet")
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

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// One virtual server bundles a healthy connector with one that is down, one that never answers,
// one that answers garbage and one whose tool is slower than its call timeout. Each faulty one
// loses only its own tools; the session and the healthy connector's tools keep working.
func TestAConnectorThatIsDownStalledBrokenOrSlowFailsOnlyItsOwnTools(t *testing.T) {
	s := startSystem(t)
	slow := newGate() // never released: its tool outlives the call timeout
	s.addConnector(harness.Connector{Name: "down", Timeout: 2 * time.Second}, nil)
	s.addConnector(harness.Connector{Name: "stalled", Timeout: 2 * time.Second, CallTimeout: 2 * time.Second}, stalled())
	s.addConnector(harness.Connector{Name: "garbage", Timeout: 2 * time.Second}, garbage())
	s.addConnector(harness.Connector{Name: "slow", Timeout: 5 * time.Second, CallTimeout: 2 * time.Second}, gatedConnector(slow))
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "faults", Connectors: []string{"weather", "down", "stalled", "garbage", "slow"}})
	})
	token := s.token("ivan", "faults")

	// initialize waits at most for the slowest connector's own timeout.
	start := time.Now()
	var cs *mcp.ClientSession
	harness.Eventually(t, 20*time.Second, func() error {
		var err error
		cs, err = tryConnect(s.url("faults"), token)
		return err
	})
	defer cs.Close()
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("initialize took %s with faulty connectors", took)
	}

	// The checks below are independent, each a t.Run of its own, all in the one session.
	t.Run("the tool list has only the tools of healthy connectors", func(t *testing.T) {
		names := toolNames(t, cs)
		for _, want := range []string{"weather__get_forecast", "slow__wait"} {
			if !slices.Contains(names, want) {
				t.Errorf("tools/list lacks %s: %v", want, names)
			}
		}
		for _, n := range names {
			if strings.HasPrefix(n, "down__") || strings.HasPrefix(n, "stalled__") || strings.HasPrefix(n, "garbage__") {
				t.Errorf("tools/list shows %s from a faulty connector", n)
			}
		}
	})
	t.Run("a call slower than its call timeout fails and says so", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "slow__wait", Arguments: map[string]any{}})
		if err == nil {
			t.Fatal("a call slower than its call timeout succeeded")
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("the slow call failed only after %s; its call timeout is 2s", took)
		}
		if !strings.Contains(strings.ToLower(err.Error()), "timeout") {
			t.Errorf("the slow call's error does not say it timed out: %v", err)
		}
	})
	t.Run("calls to the faulty connectors fail with an error naming them", func(t *testing.T) {
		// Calls to the faulty connectors fail with a JSON-RPC error that names the connector or the
		// tool — not Envoy's bare 503/504 or the connector's garbage, which would break the client's
		// session.
		for _, tc := range []struct{ tool, connector string }{
			{"down__anything", "down"}, {"stalled__anything", "stalled"}, {"garbage__anything", "garbage"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool, Arguments: map[string]any{}})
			if err == nil || strings.Contains(err.Error(), "rejected by transport") || strings.Contains(err.Error(), "failed to decode") ||
				!(strings.Contains(err.Error(), `"`+tc.connector+`"`) || strings.Contains(err.Error(), `"`+tc.tool+`"`)) {
				t.Errorf("calling %s: %v, want a JSON-RPC error naming %q", tc.tool, err, tc.connector)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("calling %s took %s", tc.tool, took)
			}
		}
	})
	t.Run("the tool of the healthy connector still answers", func(t *testing.T) {
		if res := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Bergen", "days": 1}); res.IsError {
			t.Errorf("the healthy connector's tool failed: %v", res.Content)
		}
	})
}

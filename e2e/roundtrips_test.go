package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// envoyCounters reads the counters under prefix from Envoy's admin /stats.
func envoyCounters(t *testing.T, admin, prefix string) map[string]int {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/stats?filter=^" + prefix)
	if err != nil {
		t.Fatalf("envoy /stats: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ": ")
		if n, err := strconv.Atoi(value); ok && err == nil {
			out[name] = n
		}
	}
	return out
}

// A routed tools/call's round trips to vmcp, counted by Envoy itself: one ext_authz check, then
// on the connector's plain route (authz hinted its connector from Mcp-Name) extproc gets no
// headers message, only the body, the answer's headers and the answer. Four ext_proc messages
// (the request's headers too) would mean the route hint stopped working.
func TestARoutedCallCostsOneCheckAndNoHeadersMessage(t *testing.T) {
	s := startSystem(t)
	token := s.token("alice", "demo")
	const prefix = `http\.edge\.ext_(authz|proc)\.`
	for _, name := range []string{"notes__add_note", "weather__get_forecast"} {
		t.Run(name, func(t *testing.T) {
			before := envoyCounters(t, s.addrs["admin"], prefix)
			// The headers a 2026-07-28 client sends, which mirror the body and give authz the
			// tool's name.
			mirror := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": name}
			if status, _, body := rawRPC(t, s.url("demo"), token, callBody(name), mirror); status != http.StatusOK || strings.Contains(string(body), `"error"`) {
				t.Fatalf("routed call: HTTP %d %s", status, body)
			}
			after := envoyCounters(t, s.addrs["admin"], prefix)
			delta := func(k string) int { return after["http.edge.ext_"+k] - before["http.edge.ext_"+k] }
			if n := delta("authz.ok"); n != 1 {
				t.Errorf("ext_authz checks: %d, want 1", n)
			}
			if n := delta("proc.streams_started"); n != 1 {
				t.Errorf("ext_proc streams: %d, want 1", n)
			}
			if n := delta("proc.stream_msgs_sent"); n < 1 || n > 3 {
				t.Errorf("ext_proc messages: %d, want 1 to 3 (the body, the answer's headers and its one chunk)", n)
			}
		})
	}
}

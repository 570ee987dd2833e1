package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/examples/connectors/notes"
	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
	"github.com/vmcp-dev/vmcp/internal/audit"
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

// edgeRoundTrips runs do and returns how much each of the edge's ext_authz and ext_proc
// counters (named without their http.edge.ext_ prefix: "authz.ok", "proc.stream_msgs_sent")
// grew meanwhile, as Envoy counts them.
func (s *system) edgeRoundTrips(t *testing.T, do func()) func(counter string) int {
	t.Helper()
	const prefix = `http\.edge\.ext_(authz|proc)\.`
	before := envoyCounters(t, s.addrs["admin"], prefix)
	do()
	after := envoyCounters(t, s.addrs["admin"], prefix)
	return func(k string) int { return after["http.edge.ext_"+k] - before["http.edge.ext_"+k] }
}

// A routed tools/call's round trips to vmcp, counted by Envoy itself: one ext_authz check, then
// on the connector's plain route (authz hinted its connector from Mcp-Name) extproc gets no
// headers message, only the body, the answer's headers and the answer. The connector answers in
// JSON, in one piece: an SSE answer may reach Envoy as its data and then its end, two messages,
// which would blur the count. Four ext_proc messages (the request's headers too) would mean the
// route hint stopped working.
func TestARoutedCallCostsOneCheckAndNoHeadersMessage(t *testing.T) {
	s := startSystem(t)
	s.addConnector(harness.Connector{Name: "jnotes", Timeout: 5 * time.Second, Credential: notesCredential},
		notes.New(notes.Options{Token: notesToken, JSONResponse: true}))
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "json", Connectors: []string{"jnotes"}, Prefix: "always"})
	})
	token, url := s.token("alice", "json"), s.url("json")
	const name = "jnotes__add_note"
	delta := s.edgeRoundTrips(t, func() {
		// The headers a 2026-07-28 client sends, which mirror the body and give authz the
		// tool's name.
		mirror := map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": name}
		if status, _, body := rawRPC(t, url, token, callBody(name), mirror); status != http.StatusOK || strings.Contains(string(body), `"error"`) {
			t.Fatalf("routed call: HTTP %d %s", status, body)
		}
	})
	if n := delta("authz.ok"); n != 1 {
		t.Errorf("ext_authz checks: %d, want 1", n)
	}
	if n := delta("proc.streams_started"); n != 1 {
		t.Errorf("ext_proc streams: %d, want 1", n)
	}
	if n := delta("proc.stream_msgs_sent"); n != 3 {
		t.Errorf("ext_proc messages: %d, want 3 (the body, the answer's headers and the answer)", n)
	}
}

// A 2026-07-28 client calling a connector that speaks 2026-07-28 (weather, stateless) takes the
// connector's direct route once vmcp knows the connector's revision: one ext_authz check and one
// ext_proc message (the body); the answer goes back through Envoy alone. Its audit trail is one
// event per call, with the outcome Envoy's access log brought: ok, or a tool error.
func TestADirectCallCostsOneCheckAndOneMessageAndIsAuditedOnce(t *testing.T) {
	s := startSystem(t, withFullArguments)
	s.addConnector(harness.Connector{Name: "forecast", Timeout: 5 * time.Second}, weather.New(weather.Options{Stateless: true}))
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "modern", Connectors: []string{"forecast"}, Prefix: "always"})
	})
	token, url := s.token("alice", "modern"), s.url("modern")
	const tool = "forecast__get_forecast"
	call := func(city string) map[string]any {
		t.Helper()
		status, m := rawPost(t, url, token, modernRequest("tools/call", map[string]any{"name": tool, "arguments": map[string]any{"city": city, "days": 1}}), modernHeaders("tools/call", tool))
		if status != http.StatusOK || m["result"] == nil {
			t.Fatalf("direct call for %q: HTTP %d %v", city, status, m)
		}
		return m["result"].(map[string]any)
	}
	// The first call teaches vmcp the connector's revision (server/discover).
	call("Oslo")

	delta := s.edgeRoundTrips(t, func() {
		if res := call("Lisbon"); res["isError"] == true {
			t.Fatalf("a forecast for Lisbon failed: %v", res)
		}
	})
	if n := delta("authz.ok"); n != 1 {
		t.Errorf("ext_authz checks: %d, want 1", n)
	}
	if n := delta("proc.stream_msgs_sent"); n != 1 {
		t.Errorf("ext_proc messages: %d, want 1 (the body only)", n)
	}
	if res := call(""); res["isError"] != true {
		t.Fatalf("a forecast for no city succeeded: %v", res)
	}

	// One event per call, each with its outcome, in place of authz's decision on it.
	byCity := map[string]string{}
	for _, ev := range s.awaitAudit(t, 3, func(ev audit.Event) bool { return ev.Target == tool && ev.Outcome != "" }, "--user", "alice", "--kind", "mcp") {
		city, _ := ev.Arguments["city"].(string)
		byCity[city] = ev.Outcome
		if ev.Connector != "forecast" || ev.LatencyMicros <= 0 {
			t.Errorf("direct call event: %+v", ev)
		}
	}
	if byCity["Lisbon"] != audit.OutcomeOK || byCity[""] != audit.OutcomeToolError {
		t.Errorf("outcomes by city: %v, want Lisbon ok and the empty city a tool error", byCity)
	}
	for _, ev := range s.auditTrail(t, "--user", "alice", "--kind", "authz") {
		if ev.Method == "tools/call" {
			t.Errorf("authz's decision on a call stayed beside the call's own event: %+v", ev)
		}
	}
}

// A direct call whose connector does not answer within its call timeout fails alone, with the
// JSON-RPC error the edge's local_reply_config makes of Envoy's 504 (the call's own id, the
// connector named, as extproc says it on the other routes), and is audited as a connector
// failure once the access log brings its outcome.
func TestADirectCallToASlowConnectorGetsItsJSONRPCErrorAndIsAudited(t *testing.T) {
	s := startSystem(t)
	g := newGate()
	defer close(g.release)
	s.addConnector(harness.Connector{Name: "slow", Timeout: 5 * time.Second, CallTimeout: time.Second}, statelessGatedConnector(g))
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "modern", Connectors: []string{"slow"}, Prefix: "always"})
	})
	token, url := s.token("alice", "modern"), s.url("modern")
	call := func() map[string]any {
		t.Helper()
		status, m := rawPost(t, url, token, modernRequest("tools/call", map[string]any{"name": "slow__wait", "arguments": map[string]any{}}), modernHeaders("tools/call", "slow__wait"))
		if status != http.StatusOK {
			t.Fatalf("a call slower than its call timeout: HTTP %d %v, want 200 with a JSON-RPC error", status, m)
		}
		return m
	}
	// The first call (on the plain route) teaches vmcp the connector's revision.
	call()

	var m map[string]any
	delta := s.edgeRoundTrips(t, func() { m = call() })
	if n := delta("proc.stream_msgs_sent"); n != 1 {
		t.Errorf("ext_proc messages: %d, want 1 (a direct call)", n)
	}
	rpcErr, _ := m["error"].(map[string]any)
	if id, _ := m["id"].(float64); id != 1 || rpcErr == nil || !strings.Contains(fmt.Sprint(rpcErr["message"]), `connector "slow" did not answer within its call timeout`) {
		t.Errorf("answer %v: want id 1 and the JSON-RPC error naming the connector's call timeout", m)
	}
	s.awaitAudit(t, 2, func(ev audit.Event) bool {
		return ev.Target == "slow__wait" && ev.Outcome == audit.OutcomeUpstream && ev.UpstreamStatus == http.StatusGatewayTimeout
	}, "--user", "alice", "--kind", "mcp")
}

package metrics

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
)

// tools is a catalog of fixed names per virtual server.
type tools map[string][]string

func (t tools) KnownTool(vs, tool string) bool { return slices.Contains(t[vs], tool) }

// collect keeps the events the observer hands on.
type collect struct{ events []audit.Event }

func (c *collect) Record(ev audit.Event) { c.events = append(c.events, ev) }

const testConfig = `
connectors:
  - {name: notes, url: "http://127.0.0.1:1/mcp"}
  - {name: weather, url: "http://127.0.0.1:2/mcp"}
virtual_servers:
  - name: demo
    connectors: [notes, weather]
  - name: search
    connectors: [notes]
    tools: {discovery: search}
`

func newTestRequests(t testing.TB, next audit.Sink) (*Requests, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r, err := NewRequests(next, tools{"demo": {"notes__add_note"}, "search": {"notes__add_note"}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("t.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	return r, reg
}

// series gathers reg and returns each sample of family name as "label=value,…" → value
// (a histogram's sample count).
func series(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(labels, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

func TestEveryRequestIsCountedOnceWithBoundedLabels(t *testing.T) {
	next := &collect{}
	r, reg := newTestRequests(t, next)
	events := []audit.Event{
		{Kind: audit.KindMCP, VirtualServer: "demo", Connector: "notes", Method: "tools/call", Target: "notes__add_note", Outcome: audit.OutcomeOK, LatencyMicros: 12000},
		{Kind: audit.KindMCP, VirtualServer: "demo", Connector: "notes", Method: "tools/call", Target: "notes__add_note", Outcome: audit.OutcomeToolError, LatencyMicros: 3000},
		// A name no list has: every such name is one series, whatever a client makes up.
		{Kind: audit.KindMCP, VirtualServer: "demo", Connector: "notes", Method: "tools/call", Target: "notes__made_up_1", Outcome: audit.OutcomeUpstream, LatencyMicros: 1000},
		{Kind: audit.KindMCP, VirtualServer: "demo", Method: "tools/call", Target: "nobody__made_up_2", Outcome: audit.OutcomeError, ErrorCode: -32602},
		{Kind: audit.KindMCP, VirtualServer: "demo", Method: "tools/list", Outcome: audit.OutcomeOK, LatencyMicros: 500},
		{Kind: audit.KindMCP, VirtualServer: "demo", Method: "vendor/extension", Outcome: audit.OutcomeError},
		{Kind: audit.KindMCP, VirtualServer: "demo", Connector: "unconfigured", Method: "tools/call", Target: "x", Outcome: audit.OutcomeDenied},
		{Kind: audit.KindMCP, VirtualServer: "search", Method: "tools/call", Target: config.SearchToolsName, Outcome: audit.OutcomeOK},
		{Kind: audit.KindMCP, VirtualServer: "demo", Method: "GET", Outcome: audit.OutcomeOK, LatencyMicros: 60e6},
		// Allowed by authz: the request goes on and is counted where it ends.
		{Kind: audit.KindAuthz, VirtualServer: "demo", Decision: "allow", Outcome: audit.OutcomeOK},
		{Kind: audit.KindAuthz, VirtualServer: "demo", Decision: "deny", Outcome: audit.OutcomeDenied},
		{Kind: audit.KindAuthz, VirtualServer: "demo", Decision: "unauthenticated", Outcome: audit.OutcomeDenied},
		{Kind: audit.KindMCP, VirtualServer: "demo", Method: "tools/call", Target: "notes__abandoned", Connector: "notes", Outcome: audit.OutcomeAbandoned},
	}
	for _, ev := range events {
		r.Record(ev)
	}
	if len(next.events) != len(events) {
		t.Fatalf("the next sink got %d events, want %d", len(next.events), len(events))
	}
	want := map[string]float64{
		"connector=notes,method=tools/call,outcome=ok,tool=notes__add_note,virtual_server=demo":         1,
		"connector=notes,method=tools/call,outcome=tool_error,tool=notes__add_note,virtual_server=demo": 1,
		"connector=notes,method=tools/call,outcome=connector_down,tool=other,virtual_server=demo":       1,
		"connector=,method=tools/call,outcome=jsonrpc_error,tool=other,virtual_server=demo":             1,
		"connector=,method=tools/list,outcome=ok,tool=,virtual_server=demo":                             1,
		"connector=,method=other,outcome=jsonrpc_error,tool=,virtual_server=demo":                       1,
		"connector=other,method=tools/call,outcome=denied,tool=other,virtual_server=demo":               1,
		"connector=,method=tools/call,outcome=ok,tool=search_tools,virtual_server=search":               1,
		"connector=,method=GET,outcome=ok,tool=,virtual_server=demo":                                    1,
		"connector=,method=,outcome=denied,tool=,virtual_server=demo":                                   1,
		"connector=,method=,outcome=unauthenticated,tool=,virtual_server=demo":                          1,
		"connector=notes,method=tools/call,outcome=abandoned,tool=other,virtual_server=demo":            1,
	}
	got := series(t, reg, "vmcp_requests_total")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("vmcp_requests_total{%s} = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series vmcp_requests_total{%s}", k)
		}
	}

	durations := series(t, reg, "vmcp_request_duration_seconds")
	if n := durations["connector=notes,method=tools/call,tool=notes__add_note,virtual_server=demo"]; n != 2 {
		t.Errorf("add_note timed %v times, want 2 (ok and tool_error share the histogram)", n)
	}
	if _, ok := durations["connector=,method=GET,tool=,virtual_server=demo"]; ok {
		t.Error("a GET stream's duration is in the latency histogram")
	}
}

func TestLatencyIsObservedInSeconds(t *testing.T) {
	r, reg := newTestRequests(t, nil)
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "ping", Outcome: audit.OutcomeOK, LatencyMicros: 250000})
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "vmcp_request_duration_seconds" {
			if sum := mf.GetMetric()[0].GetHistogram().GetSampleSum(); sum != 0.25 {
				t.Fatalf("sum = %v, want 0.25", sum)
			}
			return
		}
	}
	t.Fatal("no vmcp_request_duration_seconds")
}

func TestEgressRequestsAreCountedPerConnector(t *testing.T) {
	r, reg := newTestRequests(t, nil)
	r.Record(audit.Event{Kind: audit.KindEgress, Connector: "weather", Method: "tools/list", Outcome: audit.OutcomeOK, LatencyMicros: 2000})
	r.Record(audit.Event{Kind: audit.KindEgress, Connector: "weather", Method: "tools/list", Outcome: audit.OutcomeUpstream, UpstreamStatus: 503})
	r.Record(audit.Event{Kind: audit.KindEgress, Connector: "forged-by-a-local-process", Method: "POST", Outcome: audit.OutcomeDenied})
	got := series(t, reg, "vmcp_connector_requests_total")
	want := map[string]float64{
		"connector=weather,method=tools/list,outcome=ok":             1,
		"connector=weather,method=tools/list,outcome=connector_down": 1,
		"connector=other,method=other,outcome=denied":                1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("vmcp_connector_requests_total = %v, want %v", got, want)
	}
	if n := series(t, reg, "vmcp_connector_request_duration_seconds")["connector=weather,method=tools/list"]; n != 2 {
		t.Fatalf("weather's tools/list timed %v times, want 2", n)
	}
	if got := series(t, reg, "vmcp_requests_total"); len(got) != 0 {
		t.Fatalf("egress requests counted as client requests: %v", got)
	}
}

func TestSessionsStartedAndEnded(t *testing.T) {
	r, reg := newTestRequests(t, nil)
	if got := series(t, reg, "vmcp_client_sessions_started_total"); len(got) != 2 || got["virtual_server=search"] != 0 {
		t.Errorf("before any session: %v, want both virtual servers at 0", got)
	}
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "initialize", Outcome: audit.OutcomeOK})
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "initialize", Outcome: audit.OutcomeOK})
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "initialize", Outcome: audit.OutcomeError})
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "DELETE", Outcome: audit.OutcomeOK})
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "DELETE", Outcome: audit.OutcomeError})
	if got := series(t, reg, "vmcp_client_sessions_started_total")["virtual_server=demo"]; got != 2 {
		t.Errorf("started = %v, want 2", got)
	}
	if got := series(t, reg, "vmcp_client_sessions_ended_total")["virtual_server=demo"]; got != 1 {
		t.Errorf("ended = %v, want 1", got)
	}
}

// A reload that removes a virtual server bounds its name from then on.
func TestAReloadChangesWhatIsKnown(t *testing.T) {
	r, reg := newTestRequests(t, nil)
	cfg, err := config.Load("t.yaml", []byte(strings.Replace(testConfig, "name: demo", "name: renamed", 1)))
	if err != nil {
		t.Fatal(err)
	}
	commit, _ := r.Prepare(cfg)
	commit()
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Method: "ping", Outcome: audit.OutcomeOK})
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "renamed", Method: "ping", Outcome: audit.OutcomeOK})
	got := series(t, reg, "vmcp_requests_total")
	if got["connector=,method=ping,outcome=ok,tool=,virtual_server=other"] != 1 || got["connector=,method=ping,outcome=ok,tool=,virtual_server=renamed"] != 1 {
		t.Fatalf("after the reload: %v", got)
	}
}

// The tool label must not keep the request's buffer alive: the observer copies the name, which
// events take from the request body.
func TestToolLabelIsACopy(t *testing.T) {
	r, _ := newTestRequests(t, nil)
	body := []byte(`notes__add_note`)
	target := unsafe.String(&body[0], len(body))
	r.Record(audit.Event{Kind: audit.KindMCP, VirtualServer: "demo", Connector: "notes", Method: "tools/call", Target: target, Outcome: audit.OutcomeOK})
	for k := range *r.edge.m.Load() {
		if k.tool == "notes__add_note" {
			if unsafe.StringData(k.tool) == &body[0] {
				t.Fatal("the series key shares the request's bytes")
			}
			return
		}
	}
	t.Fatal("no series for notes__add_note")
}

func TestMethodAndOutcomeValues(t *testing.T) {
	for in, want := range map[string]string{"": "", "tools/call": "tools/call", "DELETE": "DELETE", "Tools/Call": Other, "POST": Other, "notifications/message": Other} {
		if got := Method(in); got != want {
			t.Errorf("Method(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		ev   audit.Event
		want string
	}{
		{audit.Event{Outcome: audit.OutcomeOK}, OutcomeOK},
		{audit.Event{Outcome: audit.OutcomeToolError}, OutcomeToolError},
		{audit.Event{Outcome: audit.OutcomeError}, OutcomeJSONRPCError},
		{audit.Event{Outcome: audit.OutcomeUpstream}, OutcomeConnectorDown},
		{audit.Event{Outcome: audit.OutcomeAbandoned}, OutcomeAbandoned},
		{audit.Event{Outcome: audit.OutcomeDenied, Kind: audit.KindMCP}, OutcomeDenied},
		{audit.Event{Outcome: audit.OutcomeDenied, Kind: audit.KindAuthz, Decision: "deny"}, OutcomeDenied},
		{audit.Event{Outcome: audit.OutcomeDenied, Kind: audit.KindAuthz, Decision: "unauthenticated"}, OutcomeUnauthenticated},
		{audit.Event{Outcome: "something new"}, Other},
	} {
		if got := Outcome(&c.ev); got != c.want {
			t.Errorf("Outcome(%+v) = %q, want %q", c.ev, got, c.want)
		}
	}
}

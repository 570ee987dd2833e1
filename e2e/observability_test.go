package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/examples/observability"
)

// scrape reads the Prometheus text exposition at url.
func scrape(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// Every series the example dashboard and alert rules read is one a running vmcp (on its own
// listener) or its Envoy (on the admin listener) exports, once a few calls went through: a
// renamed metric cannot leave a panel empty or an alert silent without failing here.
func TestDashboardAndRulesReadOnlyWhatVMCPAndEnvoyExport(t *testing.T) {
	queries, recorded, err := observability.ParseRules()
	if err != nil {
		t.Fatal(err)
	}
	panels, err := observability.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	queries = append(queries, panels...)
	// up is Prometheus's own series for every scrape target; the recording rules' series are
	// made by the rules.
	madeByPrometheus := append([]string{"up"}, recorded...)

	s := startSystem(t)
	token := s.token("alice", "demo")
	// A 2025-11-25 client's session, opened and ended.
	sid := initializeSession(t, s.url("demo"), token)
	if status := sessionRequest(t, http.MethodDelete, s.url("demo"), token, sid); status != http.StatusNoContent {
		t.Fatalf("DELETE of the session: HTTP %d", status)
	}
	cs := connect(t, s.url("demo"), token)
	toolNames(t, cs)
	if res := callTool(t, cs, "notes__add_note", map[string]any{"title": "metrics", "body": "counted"}); res.IsError {
		t.Fatalf("notes__add_note: %v", res.Content)
	}
	if res := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Lisbon", "days": 1}); res.IsError {
		t.Fatalf("weather__get_forecast: %v", res.Content)
	}
	if _, err := tryCallTool(cs, "notes__no_such_tool", nil); err == nil {
		t.Fatal("a call of a tool nobody has succeeded")
	}
	// A request without a token: refused at authz.
	resp, err := http.Post(s.url("demo"), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a request without a token got %s", resp.Status)
	}

	var vmcp map[string]*dto.MetricFamily
	harness.Eventually(t, 30*time.Second, func() error {
		var err error
		if vmcp, err = scrape("http://" + s.addrs["http"] + "/metrics"); err != nil {
			return err
		}
		// Envoy exports a histogram once it has flushed stats after a sample (every 5 s).
		envoy, err := scrape("http://" + s.addrs["admin"] + "/stats/prometheus")
		if err != nil {
			return err
		}
		exported := map[string]bool{}
		for name, mf := range vmcp {
			exported[name] = len(mf.GetMetric()) > 0
		}
		for name, mf := range envoy {
			exported[name] = len(mf.GetMetric()) > 0
		}
		var missing []string
		for _, q := range queries {
			names, err := observability.MetricNames(q.Expr)
			if err != nil {
				t.Fatalf("%s: %v", q.Where, err)
			}
			for _, n := range names {
				if slices.Contains(madeByPrometheus, n) || exported[observability.Family(n, exported)] {
					continue
				}
				missing = append(missing, fmt.Sprintf("%s (%s)", n, q.Where))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("not exported: %s", strings.Join(missing, ", "))
		}
		return nil
	})

	// Every series of vmcp's own is listed, with its labels and meaning, on the page that says
	// what vmcp exports.
	doc, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "docs", "observability.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range vmcp {
		if strings.HasPrefix(name, "vmcp_") && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("%s is not documented in docs/observability.md", name)
		}
	}

	// The calls are counted with the labels the dashboard groups by: a known tool under its
	// name, a made-up one as other, the tokenless request as unauthenticated.
	got := map[string]float64{}
	for _, m := range vmcp["vmcp_requests_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		got[l["virtual_server"]+" "+l["connector"]+" "+l["method"]+" "+l["tool"]+" "+l["outcome"]] += m.GetCounter().GetValue()
	}
	for _, want := range []string{
		"demo notes tools/call notes__add_note ok",
		"demo weather tools/call weather__get_forecast ok",
		"demo  tools/call other jsonrpc_error",
		"demo  tools/list  ok",
		"demo    unauthenticated",
	} {
		if got[want] < 1 {
			t.Errorf("vmcp_requests_total has no %q; got %v", want, got)
		}
	}
	for _, name := range []string{"vmcp_client_sessions_started_total", "vmcp_client_sessions_ended_total"} {
		if n := vmcp[name].GetMetric()[0].GetCounter().GetValue(); n != 1 {
			t.Errorf("%s = %v, want 1", name, n)
		}
	}
	up := map[string]float64{}
	for _, m := range vmcp["vmcp_connector_up"].GetMetric() {
		up[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	if up["notes"] != 1 || up["weather"] != 1 {
		t.Errorf("vmcp_connector_up = %v, want notes and weather up", up)
	}
}

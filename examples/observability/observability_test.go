package observability

import (
	"encoding/json"
	"strings"
	"testing"
)

// Prometheus's own rule loader accepts the rules: YAML, rule names, PromQL, templates.
func TestRulesLoadInPrometheus(t *testing.T) {
	queries, recorded, err := ParseRules()
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, q := range queries {
		if name, ok := strings.CutPrefix(q.Where, "rules: "); ok && strings.HasPrefix(name, "VMCP") {
			alerts = append(alerts, name)
		}
	}
	// What the rules are there for: a connector down, the audit spilling or dropping, denial
	// spikes, the latency SLO.
	for _, want := range []string{"VMCPConnectorDown", "VMCPAuditSpilling", "VMCPAuditDropping", "VMCPDenialSpike", "VMCPToolCallLatencySLOFastBurn"} {
		if !strings.Contains(strings.Join(alerts, " "), want) {
			t.Errorf("no alert %s among %v", want, alerts)
		}
	}
	if len(recorded) == 0 {
		t.Error("no recording rules found")
	}
}

func TestRulesThatDoNotParseAreRefused(t *testing.T) {
	saved := Rules
	defer func() { Rules = saved }()
	Rules = []byte("groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(vmcp_requests_total[5m])\n")
	if _, _, err := ParseRules(); err == nil {
		t.Fatal("a rule with unbalanced parentheses was accepted")
	}
}

func TestEveryDashboardQueryParses(t *testing.T) {
	queries, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 20 {
		t.Fatalf("only %d queries found in the dashboard", len(queries))
	}
	for _, q := range queries {
		names, err := MetricNames(q.Expr)
		if err != nil {
			t.Errorf("%s: %v\n%s", q.Where, err, q.Expr)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s reads no metric: %s", q.Where, q.Expr)
		}
	}
}

// Grafana refuses a dashboard whose panels share an id, and the data source must be chosen on
// import rather than hard-wired.
func TestDashboardPanelsHaveUniqueIDsAndTheDataSourceVariable(t *testing.T) {
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID         int             `json:"id"`
			Title      string          `json:"title"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(Dashboard, &d); err != nil {
		t.Fatal(err)
	}
	seen := map[int]string{}
	for _, p := range d.Panels {
		if other, dup := seen[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		seen[p.ID] = p.Title
		if len(p.Datasource) > 0 && !strings.Contains(string(p.Datasource), "${datasource}") {
			t.Errorf("panel %q has a fixed data source %s", p.Title, p.Datasource)
		}
	}
	if d.UID == "" {
		t.Error("the dashboard has no uid")
	}
}

func TestMetricNamesAndFamilies(t *testing.T) {
	names, err := MetricNames(`histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="1"}[5m]))) / on() group_left b + {__name__="c"}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "a_bucket,b,c" {
		t.Fatalf("names = %v", names)
	}
	families := map[string]bool{"a": true, "d_count": true}
	for in, want := range map[string]string{"a_bucket": "a", "a_sum": "a", "a_count": "a", "d_count": "d_count", "e_bucket": "e_bucket"} {
		if got := Family(in, families); got != want {
			t.Errorf("Family(%s) = %s, want %s", in, got, want)
		}
	}
}

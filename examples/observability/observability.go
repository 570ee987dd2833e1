// Package observability holds the example Grafana dashboard and Prometheus rules for vmcp, and
// reads the PromQL out of them, so that tests can hold both to what vmcp and Envoy export.
// Nothing in vmcp's binary imports it.
package observability

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Dashboard is vmcp-dashboard.json, a Grafana dashboard.
//
//go:embed vmcp-dashboard.json
var Dashboard []byte

// Rules is vmcp-alerts.yaml, Prometheus alerting and recording rules.
//
//go:embed vmcp-alerts.yaml
var Rules []byte

// Query is one PromQL expression of the dashboard or the rules.
type Query struct {
	// Where names it: "dashboard: <panel title>" or "rules: <alert or record>".
	Where string
	Expr  string
}

var promql = parser.NewParser(parser.Options{})

// ParseRules parses and validates Rules with Prometheus's own rule loader, which also parses
// every expression and template, and returns the rules' queries and the series names the
// recording rules define.
func ParseRules() (queries []Query, recorded []string, err error) {
	groups, errs := rulefmt.Parse(Rules, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("vmcp-alerts.yaml: %w", joinErrors(errs))
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			name := r.Alert
			if r.Record != "" {
				name = r.Record
				recorded = append(recorded, r.Record)
			}
			queries = append(queries, Query{Where: "rules: " + name, Expr: r.Expr})
		}
	}
	return queries, recorded, nil
}

// grafanaVariable matches Grafana's template variables in an expression: $name, ${name} and
// ${name:format}.
var grafanaVariable = regexp.MustCompile(`\$\{?(\w+)(:\w+)?\}?`)

// labelValues matches a Grafana variable's label_values(selector, label) query.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// grafanaIntervals are what Grafana puts in for its interval variables, for parsing's sake.
var grafanaIntervals = map[string]string{"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}

// DashboardQueries returns every panel target's expression, with Grafana's variables put in as
// Grafana would: intervals as durations, the dashboard's own variables (always inside label
// matchers here) as "match anything".
func DashboardQueries() ([]Query, error) {
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(Dashboard, &d); err != nil {
		return nil, fmt.Errorf("vmcp-dashboard.json: %w", err)
	}
	var out []Query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, t := range p.Targets {
				out = append(out, Query{Where: "dashboard: " + p.Title, Expr: grafanaVariable.ReplaceAllStringFunc(t.Expr, func(v string) string {
					name := grafanaVariable.FindStringSubmatch(v)[1]
					if d, ok := grafanaIntervals[name]; ok {
						return d
					}
					return ".*"
				})})
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			out = append(out, Query{Where: "dashboard: variable " + v.Name, Expr: m[1]})
		}
	}
	return out, nil
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// MetricNames parses expr and returns the metric names its selectors read.
func MetricNames(expr string) ([]string, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			if name == "" {
				for _, m := range vs.LabelMatchers {
					if m.Name == model.MetricNameLabel {
						name = m.Value
					}
				}
			}
			if name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		return nil
	})
	return names, nil
}

// Family is the metric family a series name belongs to: a histogram's _bucket, _sum and _count
// series are its family's.
func Family(name string, families map[string]bool) string {
	if families[name] {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && families[base] {
			return base
		}
	}
	return name
}

func joinErrors(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

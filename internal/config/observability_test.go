package config

import (
	"strings"
	"testing"
)

func TestTracingConfiguration(t *testing.T) {
	cfg, err := Load("vmcp.yaml", []byte("observability:\n  tracing:\n    endpoint: otel-collector:4317\n    sampling_ratio: 0.1\n    include_user: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Observability.Tracing
	if !tr.Enabled() || tr.Endpoint != "otel-collector:4317" || tr.Ratio() != 0.1 || !tr.IncludeUser {
		t.Errorf("got %+v", tr)
	}
	cfg, err = Load("vmcp.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr := cfg.Observability.Tracing; tr.Enabled() || tr.Ratio() != 1 {
		t.Errorf("default: enabled %v, ratio %v; want off, 1", tr.Enabled(), tr.Ratio())
	}
	for _, tc := range []struct{ yaml, want string }{
		{"observability:\n  tracing:\n    endpoint: http://collector\n", "observability.tracing.endpoint"},
		{"observability:\n  tracing:\n    endpoint: 127.0.0.1:4317\n    sampling_ratio: 1.5\n", "observability.tracing.sampling_ratio"},
		{"observability:\n  tracing:\n    endpoint: 127.0.0.1:4317\n    sampling_ratio: -0.1\n", "observability.tracing.sampling_ratio"},
	} {
		if _, err := Load("vmcp.yaml", []byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one about %s", tc.yaml, err, tc.want)
		}
	}
	zero := 0.0
	if (Tracing{SamplingRatio: &zero}).Ratio() != 0 {
		t.Error("an explicit ratio of 0 is not kept")
	}
}

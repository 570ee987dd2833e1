package gateway

import (
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// `vmcp dev --otlp-endpoint` names the collector for every configuration the gateway applies: a
// reload of a file without observability.tracing is not a tracing change needing a restart.
func TestOTLPEndpointOverridesEveryAppliedConfiguration(t *testing.T) {
	g := &Gateway{otlpEndpoint: "127.0.0.1:4317"}
	first, reloaded := &config.Config{}, &config.Config{}
	a, b := g.withTracingOverride(first), g.withTracingOverride(reloaded)
	if a.Observability.Tracing.Endpoint != "127.0.0.1:4317" || b.Observability.Tracing.Endpoint != "127.0.0.1:4317" {
		t.Fatalf("endpoints %q, %q", a.Observability.Tracing.Endpoint, b.Observability.Tracing.Endpoint)
	}
	if first.Observability.Tracing.Endpoint != "" {
		t.Error("the loaded configuration itself was changed")
	}
	if err := restartRequired(a, b); err != nil {
		t.Errorf("a reload under --otlp-endpoint: %v", err)
	}
	c := *b
	ratio := 0.5
	c.Observability.Tracing.SamplingRatio = &ratio
	if err := restartRequired(b, &c); err == nil {
		t.Error("a changed sampling ratio applied without a restart (Envoy's bootstrap would disagree)")
	}
}

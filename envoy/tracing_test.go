package envoy

import (
	"strings"
	"testing"

	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	samplersv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/tracers/opentelemetry/samplers/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
)

// tracingParams is the default bootstrap with traces going to a collector on loopback, a quarter
// of new traces sampled.
func tracingParams() BootstrapParams {
	p := defaultParams()
	p.TraceCollector, p.TraceSampling = "127.0.0.1:4317", 0.25
	return p
}

func TestTracingIsOffUnlessConfigured(t *testing.T) {
	b := renderedBootstrap(t)
	for _, l := range []string{"edge", "egress"} {
		if tr := hcmOf(t, b, l).GetTracing(); tr != nil {
			t.Errorf("%s: tracing configured without a collector: %v", l, tr)
		}
	}
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() == envoynames.ClusterOTLP {
			t.Error("a collector cluster without tracing configured")
		}
	}
}

// Both listeners trace to the collector cluster with the configured ratio, so that the
// aggregator's fan-out through the egress listener is in the trace too, and the collector is
// reached over HTTP/2 (OTLP/gRPC).
func TestTracingBothListenersToTheCollector(t *testing.T) {
	b := renderBootstrap(t, tracingParams())
	for _, l := range []string{"edge", "egress"} {
		tr := hcmOf(t, b, l).GetTracing()
		if tr == nil {
			t.Fatalf("%s: no tracing", l)
		}
		// Envoy's random sampling lets every request through to the sampler, which keeps a
		// caller's decision and samples new traces at the ratio.
		if got := tr.GetRandomSampling().GetValue(); got != 100 {
			t.Errorf("%s: random_sampling %v%%, want 100%%", l, got)
		}
		if tr.GetProvider().GetName() != "envoy.tracers.opentelemetry" {
			t.Errorf("%s: tracer %q", l, tr.GetProvider().GetName())
		}
		var otel tracev3.OpenTelemetryConfig
		if err := tr.GetProvider().GetTypedConfig().UnmarshalTo(&otel); err != nil {
			t.Fatal(err)
		}
		if got := otel.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != envoynames.ClusterOTLP {
			t.Errorf("%s: spans go to cluster %q", l, got)
		}
		var parent samplersv3.ParentBasedSamplerConfig
		if err := otel.GetSampler().GetTypedConfig().UnmarshalTo(&parent); err != nil {
			t.Fatalf("%s: sampler: %v", l, err)
		}
		var ratio samplersv3.TraceIdRatioBasedSamplerConfig
		if err := parent.GetWrappedSampler().GetTypedConfig().UnmarshalTo(&ratio); err != nil {
			t.Fatalf("%s: new traces' sampler: %v", l, err)
		}
		if p := ratio.GetSamplingPercentage(); p.GetNumerator() != 250000 || p.GetDenominator() != typev3.FractionalPercent_MILLION {
			t.Errorf("%s: new traces sampled at %v", l, p)
		}
	}
	found := false
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() != envoynames.ClusterOTLP {
			continue
		}
		found = true
		sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		if sa.GetAddress() != "127.0.0.1" || sa.GetPortValue() != 4317 {
			t.Errorf("collector at %s:%d", sa.GetAddress(), sa.GetPortValue())
		}
		if protocolOptions(t, c).GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
			t.Error("collector cluster is not HTTP/2")
		}
	}
	if !found {
		t.Error("no collector cluster")
	}
}

func TestTracingParamsComeFromTheConfig(t *testing.T) {
	ratio := 0.5
	cfg := &config.Config{Observability: config.Observability{Tracing: config.Tracing{Endpoint: "otel:4317", SamplingRatio: &ratio}}}
	p := ParamsFromConfig(cfg)
	if p.TraceCollector != "otel:4317" || p.TraceSampling != 0.5 {
		t.Errorf("got collector %q sampling %v", p.TraceCollector, p.TraceSampling)
	}
	p.TraceSampling = 2
	if _, err := Render(p); err == nil || !strings.Contains(err.Error(), "TraceSampling") {
		t.Errorf("a ratio of 2 rendered: %v", err)
	}
}

package config

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// Observability configures what vmcp and its Envoy report about themselves besides logs and the
// audit trail.
type Observability struct {
	Tracing Tracing `yaml:"tracing"`
}

// Tracing exports OpenTelemetry traces, from Envoy and from vmcp's own components, to one
// OTLP/gRPC collector. Off while Endpoint is empty; a change needs a restart (Envoy's listeners,
// where Envoy's tracer is configured, are static).
type Tracing struct {
	// Endpoint is the collector's OTLP/gRPC host:port (plaintext: a local collector or agent),
	// for example 127.0.0.1:4317.
	Endpoint string `yaml:"endpoint"`
	// SamplingRatio is the share of new traces recorded, 0 to 1 (default 1). A request that
	// arrives with a W3C traceparent keeps its caller's decision.
	SamplingRatio *float64 `yaml:"sampling_ratio"`
	// IncludeUser adds the caller's subject to spans (enduser.id). Off by default: traces often
	// go to systems with a wider audience than the audit trail.
	IncludeUser bool `yaml:"include_user"`
}

// Enabled says whether traces are exported.
func (t Tracing) Enabled() bool { return t.Endpoint != "" }

// Ratio is the sampling ratio with its default applied.
func (t Tracing) Ratio() float64 {
	if t.SamplingRatio == nil {
		return 1
	}
	return *t.SamplingRatio
}

// Equal reports whether two tracing configurations are the same.
func (t Tracing) Equal(o Tracing) bool {
	return t.Endpoint == o.Endpoint && t.Ratio() == o.Ratio() && t.IncludeUser == o.IncludeUser
}

func (l *loader) validateObservability(c *Config) {
	t := c.Observability.Tracing
	if t.Endpoint != "" {
		if err := CheckTraceEndpoint(t.Endpoint); err != nil {
			l.add("observability.tracing.endpoint", "observability.tracing.endpoint: %v", err)
		}
	}
	if r := t.Ratio(); math.IsNaN(r) || r < 0 || r > 1 {
		l.add("observability.tracing.sampling_ratio", "observability.tracing.sampling_ratio: %v is not between 0 and 1", r)
	}
}

// CheckTraceEndpoint checks that a trace collector's address is host:port, without a scheme.
func CheckTraceEndpoint(endpoint string) error {
	host, port, err := net.SplitHostPort(endpoint)
	if n, perr := strconv.ParseUint(port, 10, 16); err != nil || host == "" || strings.ContainsAny(host, "/@") || perr != nil || n == 0 {
		return fmt.Errorf("%q is not host:port (the collector's OTLP/gRPC port, without a scheme)", endpoint)
	}
	return nil
}

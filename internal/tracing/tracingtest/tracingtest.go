// Package tracingtest turns tracing on for benchmarks as a deployment runs it: every span
// sampled, batched and handed to an exporter (one that discards, so that the figures are the
// request path's share and not a collector's).
package tracingtest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/metadata"

	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// On turns tracing on until the benchmark ends.
func On(b testing.TB) {
	tp := trace.NewTracerProvider(trace.WithBatcher(tracetest.NewNoopExporter()),
		trace.WithSampler(trace.ParentBased(trace.AlwaysSample())))
	restore := tracing.Use(tp, false)
	b.Cleanup(func() {
		restore()
		tp.Shutdown(context.Background())
	})
}

// EnvoyCall is the context of a gRPC call Envoy makes with tracing on: its traceparent in the
// incoming metadata, sampled.
func EnvoyCall() context.Context {
	return metadata.NewIncomingContext(context.Background(),
		metadata.Pairs("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
}

package extproc

import (
	"testing"

	"github.com/vmcp-dev/vmcp/internal/cputime"
	"github.com/vmcp-dev/vmcp/internal/tracing"
	"github.com/vmcp-dev/vmcp/internal/tracing/tracingtest"
)

// BenchmarkToolCallTraced is BenchmarkToolCall with tracing on and the call sampled: the Process
// span as Process starts it (context from Envoy's metadata) and the audit event's attributes on
// it, on top of extproc's share of a routed tools/call.
func BenchmarkToolCallTraced(b *testing.B) {
	srv, state, call := benchToolCall(b)
	tracingtest.On(b)
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		ctx, span := tracing.StartGRPC(tracingtest.EnvoyCall(), "envoy.service.ext_proc.v3.ExternalProcessor", "Process", nil)
		call(b, srv.edgeExchange(ctx, state))
		span.End()
	}
}

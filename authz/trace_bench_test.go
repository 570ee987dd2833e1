package authz

import (
	"testing"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/cputime"
	"github.com/vmcp-dev/vmcp/internal/tracing/tracingtest"
)

// BenchmarkCheckTraced is BenchmarkCheck's cached case with tracing on and the call sampled:
// what the Check span (its context from Envoy's metadata, the decision's attributes, the batch
// queue) adds to a decision.
func BenchmarkCheckTraced(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t)
	f.srv.log = zap.NewNop()
	commit, err := f.srv.Prepare(f.cfg)
	if err != nil {
		b.Fatal(err)
	}
	commit()
	tracingtest.On(b)
	req := benchRequest(f.token(t, "https://mcp.example.com/v/eng/mcp"))
	ctx := tracingtest.EnvoyCall()
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		resp, _ := f.srv.Check(ctx, req)
		if resp.GetOkResponse() == nil {
			b.Fatal("denied")
		}
	}
}

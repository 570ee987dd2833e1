package authz

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A token's first request is a cache miss and a policy evaluation; its next ones are hits, and
// with the default policy (which decides per caller) not evaluated again.
func TestTokenCacheAndPolicyTimeAreCounted(t *testing.T) {
	f := newFixture(t)
	hdrs := map[string]string{"authorization": "Bearer " + f.token(t, "https://mcp.example.com/v/eng/mcp")}
	for range 3 {
		if resp := check(t, f.srv, "/v/eng/mcp", hdrs); resp.GetOkResponse() == nil {
			t.Fatalf("denied: %v", resp)
		}
	}
	m := f.srv.metrics
	if hits, misses := read(t, m.cacheHits).GetCounter().GetValue(), read(t, m.cacheMisses).GetCounter().GetValue(); hits != 2 || misses != 1 {
		t.Errorf("cache hits %v, misses %v; want 2 and 1", hits, misses)
	}
	if n := read(t, m.policy).GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("policy evaluations timed: %d, want 1 (the allow is reused after)", n)
	}
}

// read returns the one series of an unlabelled collector.
func read(t *testing.T, c prometheus.Collector) *dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var out dto.Metric
	if err := (<-ch).Write(&out); err != nil {
		t.Fatal(err)
	}
	return &out
}

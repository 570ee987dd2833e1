package authz

import "github.com/prometheus/client_golang/prometheus"

// metrics are authz's series besides its decisions: how long the policy takes to decide, and how
// often a token is found already verified.
type metrics struct {
	policy      prometheus.Histogram
	cacheHits   prometheus.Counter
	cacheMisses prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		policy: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vmcp_authz_policy_evaluation_seconds",
			Help: "Time the vmcp.authz Rego policy took to decide one request (a cached per-caller allow is not evaluated, so not timed).",
			// Rego over a prepared query decides in tens of microseconds; a slow policy (an
			// external data call, a large data document) in milliseconds.
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vmcp_authz_token_cache_hits_total",
			Help: "Tokens found already verified in authz's token cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vmcp_authz_token_cache_misses_total",
			Help: "Tokens authz had to verify (not cached, or expired).",
		}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.policy, m.cacheHits, m.cacheMisses}
}

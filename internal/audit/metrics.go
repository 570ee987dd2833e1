package audit

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Recorder's Prometheus series. Counters for the known kinds are resolved once,
// so that counting an event on the request path is one atomic add.
type metrics struct {
	events   *prometheus.CounterVec
	authz    prometheus.Counter
	mcp      prometheus.Counter
	egress   prometheus.Counter
	dropped  prometheus.Counter
	spilled  prometheus.Counter
	replayed prometheus.Counter
	rejected prometheus.Counter
	failures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, bufferLen, spillBytes func() float64) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vmcp_audit_events_total",
			Help: "Audit events recorded, by kind (authz, mcp, egress).",
		}, []string{"kind"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vmcp_audit_dropped_total",
			Help: "Audit events dropped: buffer full in lossy mode, or not writable anywhere.",
		}),
		spilled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vmcp_audit_spilled_total",
			Help: "Audit events written to the spill file (buffer full, or the store failed).",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vmcp_audit_replayed_total",
			Help: "Audit events read back from the spill file into the store.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vmcp_audit_rejected_total",
			Help: "Audit events the store refused while accepting others; set aside in rejected.jsonl.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vmcp_audit_store_failures_total",
			Help: "Failed or timed-out audit store writes.",
		}),
	}
	m.authz = m.events.WithLabelValues(string(KindAuthz))
	m.mcp = m.events.WithLabelValues(string(KindMCP))
	m.egress = m.events.WithLabelValues(string(KindEgress))
	if reg == nil {
		return m, nil
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vmcp_audit_buffer_length",
		Help: "Audit events waiting in memory for the store.",
	}, bufferLen)
	spill := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vmcp_audit_spill_bytes",
		Help: "Bytes of audit events in spill files, waiting to be replayed into the store.",
	}, spillBytes)
	for _, c := range []prometheus.Collector{m.events, m.dropped, m.spilled, m.replayed, m.rejected, m.failures, gauge, spill} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("audit: metrics already registered (one Recorder per registry): %w", err)
			}
			return nil, fmt.Errorf("audit: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) counted(k Kind) {
	switch k {
	case KindAuthz:
		m.authz.Inc()
	case KindMCP:
		m.mcp.Inc()
	case KindEgress:
		m.egress.Inc()
	default:
		m.events.WithLabelValues(string(k)).Inc()
	}
}

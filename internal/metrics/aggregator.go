package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// AggregatorState is what the aggregator holds that is worth a gauge; it is read at scrape time,
// never on the request path.
type AggregatorState interface {
	// KeptSessions counts the unexpired connector sessions kept for session-less clients.
	KeptSessions() int
	// OpenStreams counts the notification streams clients hold open (GET, subscriptions/listen).
	OpenStreams() int
	// ConnectorHealth calls f once per configured connector: up is false while the connector's
	// latest request failed (unreachable, an HTTP error, too slow).
	ConnectorHealth(f func(connector string, up bool))
}

// RegisterAggregator exports the aggregator's gauges in reg.
func RegisterAggregator(reg prometheus.Registerer, a AggregatorState) error {
	kept := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vmcp_kept_connector_sessions",
		Help: "Connector sessions vmcp keeps for session-less clients (one per user, virtual server and connector), unexpired.",
	}, func() float64 { return float64(a.KeptSessions()) })
	streams := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vmcp_client_streams_open",
		Help: "Notification streams clients hold open on this replica (GET, subscriptions/listen).",
	}, func() float64 { return float64(a.OpenStreams()) })
	return register(reg, kept, streams, &connectorUp{a: a, desc: prometheus.NewDesc(
		"vmcp_connector_up",
		"1 when the connector's latest request from vmcp succeeded (or none was sent yet), 0 while it fails; by connector.",
		[]string{"connector"}, nil)})
}

// connectorUp reads every connector's health at scrape time, so that connectors a reload adds
// or removes appear and vanish with it.
type connectorUp struct {
	a    AggregatorState
	desc *prometheus.Desc
}

func (c *connectorUp) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *connectorUp) Collect(ch chan<- prometheus.Metric) {
	c.a.ConnectorHealth(func(connector string, up bool) {
		v := 0.0
		if up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, connector)
	})
}

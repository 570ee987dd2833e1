// Package metrics exports vmcp's MCP-aware Prometheus series. Request series are derived from
// the audit trail: every request that reaches vmcp ends in exactly one audit event, so an
// observer wrapped around the audit sink counts and times every request — by virtual server,
// connector, MCP method, tool and outcome — without a line on the request path itself. Gauges
// read the aggregator's state when Prometheus scrapes.
package metrics

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
)

// Catalog says which tool names a virtual server's clients are shown. The aggregator is one:
// it answers from the connectors' tool lists it has cached, without asking any connector.
type Catalog interface {
	KnownTool(virtualServer, tool string) bool
}

// LatencyBuckets are the request histograms' buckets, in seconds: from a cached answer (a few
// milliseconds) to a tool call that runs for half a minute.
var LatencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Requests is an audit.Sink that hands every event on to the next sink and counts it.
type Requests struct {
	next    audit.Sink
	catalog Catalog
	names   atomic.Pointer[configured]

	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	connRequests    *prometheus.CounterVec
	connDuration    *prometheus.HistogramVec
	sessionsStarted *prometheus.CounterVec
	sessionsEnded   *prometheus.CounterVec

	// The label children in use, resolved once: a request costs a map lookup and two atomic
	// adds, not a label hash and a lock in the vector.
	edge   children[edgeKey, edgeSeries]
	egress children[egressKey, egressSeries]
	starts children[string, prometheus.Counter]
	ends   children[string, prometheus.Counter]
}

// configured is what the configuration bounds labels to.
type configured struct {
	virtualServers map[string]*virtualServer
	connectors     map[string]string
}

type virtualServer struct {
	name string
	// metaTools are vmcp's own tools on a virtual server with tool discovery.
	metaTools map[string]string
}

type edgeKey struct{ vs, connector, method, tool, outcome string }

type edgeSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer // nil for streams
}

type egressKey struct{ connector, method, outcome string }

type egressSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// NewRequests returns a sink that passes events on to next and counts them in reg. catalog
// (may be nil: every tool is then Other) tells known tool names from made-up ones.
func NewRequests(next audit.Sink, catalog Catalog, reg prometheus.Registerer) (*Requests, error) {
	if next == nil {
		next = audit.Discard{}
	}
	r := &Requests{
		next:    next,
		catalog: catalog,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vmcp_requests_total",
			Help: "MCP requests that reached vmcp, by virtual server, connector, method, tool and outcome (ok, tool_error, jsonrpc_error, denied, unauthenticated, connector_down, abandoned).",
		}, []string{"virtual_server", "connector", "method", "tool", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vmcp_request_duration_seconds",
			Help:    "Time from a request reaching vmcp to its answer, by virtual server, connector, method and tool. Long-lived streams (GET, subscriptions/listen) are not timed.",
			Buckets: LatencyBuckets,
		}, []string{"virtual_server", "connector", "method", "tool"}),
		connRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vmcp_connector_requests_total",
			Help: "Requests vmcp's aggregator sent a connector through Envoy's egress listener (lists, initialize, fan-out), by connector, method and outcome.",
		}, []string{"connector", "method", "outcome"}),
		connDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vmcp_connector_request_duration_seconds",
			Help:    "Time from a fan-out request entering Envoy's egress listener to the connector's response headers, by connector and method.",
			Buckets: LatencyBuckets,
		}, []string{"connector", "method"}),
		sessionsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vmcp_client_sessions_started_total",
			Help: "Client sessions vmcp opened (initialize answered), by virtual server.",
		}, []string{"virtual_server"}),
		sessionsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vmcp_client_sessions_ended_total",
			Help: "Client sessions their clients ended (DELETE answered), by virtual server.",
		}, []string{"virtual_server"}),
	}
	r.names.Store(&configured{})
	if reg != nil {
		if err := register(reg, r.requests, r.duration, r.connRequests, r.connDuration, r.sessionsStarted, r.sessionsEnded); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Prepare takes the virtual servers and connectors of cfg as the labels' known values.
func (r *Requests) Prepare(cfg *config.Config) (func(), error) {
	c := &configured{virtualServers: map[string]*virtualServer{}, connectors: map[string]string{}}
	for _, conn := range cfg.Connectors {
		c.connectors[conn.Name] = conn.Name
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		v := &virtualServer{name: vs.Name}
		if vs.Tools.Enabled() {
			v.metaTools = map[string]string{config.SearchToolsName: config.SearchToolsName, config.CallToolName: config.CallToolName}
		}
		c.virtualServers[vs.Name] = v
	}
	return func() {
		r.names.Store(c)
		// Each virtual server's session counters exist from the start, at zero, so that their
		// rate is defined before the first session (Prometheus's advice for known label values).
		for name := range c.virtualServers {
			r.sessionCounter(&r.starts, r.sessionsStarted, name)
			r.sessionCounter(&r.ends, r.sessionsEnded, name)
		}
	}, nil
}

// Record passes ev on, then counts it.
func (r *Requests) Record(ev audit.Event) {
	r.next.Record(ev)
	r.observe(&ev)
}

// Pending hands ev to the next sink to hold until its outcome comes (audit.PendingSink); it is
// counted when recorded.
func (r *Requests) Pending(ev audit.Event) audit.Event {
	if p, ok := r.next.(audit.PendingSink); ok {
		return p.Pending(ev)
	}
	return ev
}

func (r *Requests) observe(ev *audit.Event) {
	names := r.names.Load()
	switch ev.Kind {
	case audit.KindMCP:
	case audit.KindAuthz:
		// An allowed request goes on to extproc and ends in an MCP event there; only a refusal
		// ends the request at authz.
		if ev.Decision == "allow" {
			return
		}
	case audit.KindEgress:
		r.observeEgress(names, ev)
		return
	default:
		return
	}
	vs, vsNames := names.virtualServer(ev.VirtualServer)
	k := edgeKey{vs: vs, connector: names.connector(ev.Connector), method: Method(ev.Method), outcome: Outcome(ev)}
	if k.method == "tools/call" && ev.Target != "" {
		k.tool = r.tool(vsNames, ev.Target)
	}
	s, ok := r.edge.get(k)
	if !ok {
		// The key outlives the request, and the tool name is the only value taken from it
		// (the others are the configuration's strings or constants): keep none of its
		// buffers alive.
		k.tool = strings.Clone(k.tool)
		s = r.edge.add(k, r.newEdgeSeries)
	}
	s.count.Inc()
	if s.duration != nil {
		s.duration.Observe(float64(ev.LatencyMicros) / 1e6)
	}
	if ev.Kind == audit.KindMCP && ev.Outcome == audit.OutcomeOK {
		switch k.method {
		case "initialize":
			r.sessionCounter(&r.starts, r.sessionsStarted, vs).Inc()
		case "DELETE":
			r.sessionCounter(&r.ends, r.sessionsEnded, vs).Inc()
		}
	}
}

func (r *Requests) observeEgress(names *configured, ev *audit.Event) {
	k := egressKey{connector: names.connector(ev.Connector), method: Method(ev.Method), outcome: Outcome(ev)}
	s, ok := r.egress.get(k)
	if !ok {
		s = r.egress.add(k, func(k egressKey) egressSeries {
			return egressSeries{
				count:    r.connRequests.WithLabelValues(k.connector, k.method, k.outcome),
				duration: r.connDuration.WithLabelValues(k.connector, k.method),
			}
		})
	}
	s.count.Inc()
	s.duration.Observe(float64(ev.LatencyMicros) / 1e6)
}

func (r *Requests) newEdgeSeries(k edgeKey) edgeSeries {
	s := edgeSeries{count: r.requests.WithLabelValues(k.vs, k.connector, k.method, k.tool, k.outcome)}
	if !streaming(k.method) {
		s.duration = r.duration.WithLabelValues(k.vs, k.connector, k.method, k.tool)
	}
	return s
}

func (r *Requests) sessionCounter(c *children[string, prometheus.Counter], vec *prometheus.CounterVec, vs string) prometheus.Counter {
	counter, ok := c.get(vs)
	if !ok {
		counter = c.add(vs, func(vs string) prometheus.Counter { return vec.WithLabelValues(vs) })
	}
	return counter
}

// tool bounds a tools/call's tool name: names the virtual server shows its clients (vmcp's own
// tools, or a tool of a connector's cached list) are kept, anything else is Other.
func (r *Requests) tool(vs *virtualServer, name string) string {
	if vs == nil {
		return Other
	}
	if t, ok := vs.metaTools[name]; ok {
		return t
	}
	if r.catalog != nil && r.catalog.KnownTool(vs.name, name) {
		return name
	}
	return Other
}

func (c *configured) virtualServer(name string) (string, *virtualServer) {
	if name == "" {
		return "", nil
	}
	if vs, ok := c.virtualServers[name]; ok {
		return vs.name, vs
	}
	return Other, nil
}

func (c *configured) connector(name string) string {
	if name == "" {
		return ""
	}
	if n, ok := c.connectors[name]; ok {
		return n
	}
	return Other
}

// children maps label values to the series resolved for them. Reads take no lock: the map is
// replaced whole when a combination is first seen, which happens a bounded number of times
// since every label value is bounded.
type children[K comparable, V any] struct {
	mu sync.Mutex
	m  atomic.Pointer[map[K]V]
}

func (c *children[K, V]) get(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// add resolves the series of k with resolve (once, however many requests race to it).
func (c *children[K, V]) add(k K, resolve func(K) V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if p := c.m.Load(); p != nil {
		old = *p
	}
	if v, ok := old[k]; ok {
		return v
	}
	m := make(map[K]V, 1+len(old))
	maps.Copy(m, old)
	v := resolve(k)
	m[k] = v
	c.m.Store(&m)
	return v
}

// register adds every collector to reg.
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("metrics: registered twice: %w", err)
			}
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// Package envoy owns vmcp's relationship with the Envoy binary: the bootstrap configuration it
// starts with, finding a usable Envoy 1.40 on this machine, and running it as a child process.
//
// Everything else Envoy knows about vmcp (routes, connector clusters) arrives over ADS from the
// xds package; the bootstrap only pins down what must hold before vmcp is reachable, above all the
// fail-closed ext_authz and ext_proc filters.
package envoy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"text/template"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
)

// NodeID is the node id Envoy announces on its ADS stream; vmcp's xDS server keys its snapshots
// by it.
const NodeID = "vmcp-envoy"

//go:embed bootstrap.yaml.tmpl
var bootstrapTemplate string

// tmpl is parsed once; a template that does not parse is a build-time bug, caught by every test.
var tmpl = template.Must(template.New("bootstrap").
	Funcs(template.FuncMap{"q": quote}).
	Option("missingkey=error").
	Parse(bootstrapTemplate))

// BootstrapParams are the addresses the bootstrap is rendered with, each host:port.
type BootstrapParams struct {
	NodeID string
	// Edge, Egress and Admin are where Envoy listens; they must be IP addresses.
	Edge, Egress, Admin string
	// XDS, Authz, ExtProc and HTTP are vmcp's servers as Envoy reaches them: IPs or hostnames
	// (a docker service name, say).
	XDS, Authz, ExtProc, HTTP string
	// TraceCollector is the OTLP/gRPC collector (host:port) Envoy sends its spans to; empty:
	// Envoy does not trace. TraceSampling is the share of new traces sampled, 0 to 1.
	TraceCollector string
	TraceSampling  float64
}

// ParamsFromConfig takes the addresses from vmcp's configuration. Fields left empty (a Config that
// did not go through config.Load) fall back to the same defaults config.Load applies.
func ParamsFromConfig(cfg *config.Config) BootstrapParams {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	s := cfg.Server
	p := BootstrapParams{
		NodeID:  NodeID,
		Edge:    or(s.Envoy.Edge, config.DefaultEdge),
		Egress:  or(s.Envoy.Egress, config.DefaultEgress),
		Admin:   or(s.Envoy.Admin, config.DefaultAdmin),
		XDS:     or(s.Listen.XDS, config.DefaultXDS),
		Authz:   or(s.Listen.Authz, config.DefaultAuthz),
		ExtProc: or(s.Listen.ExtProc, config.DefaultExtProc),
		HTTP:    or(s.Listen.HTTP, config.DefaultHTTP),
	}
	if t := cfg.Observability.Tracing; t.Enabled() {
		p.TraceCollector, p.TraceSampling = t.Endpoint, t.Ratio()
	}
	return p
}

// hostPort is an address split the way Envoy's socket_address wants it: an IPv6 host without
// brackets, the port as a number.
type hostPort struct {
	Host string
	Port uint16
}

type clusterView struct {
	Name  string
	HTTP2 bool
	Addr  hostPort
}

type bootstrapView struct {
	EnvoyVersion        string
	NodeID              string
	Edge, Egress, Admin hostPort
	Clusters            []clusterView
	Tracing             *tracingView
}

// tracingView is the tracing section both listeners get.
type tracingView struct {
	// PerMillion is the sampling ratio of new traces in millionths.
	PerMillion uint32
	Cluster    string
}

// Render produces the Envoy bootstrap YAML for p. Every address is checked first, and an error
// names the field that is wrong.
func Render(p BootstrapParams) ([]byte, error) {
	if p.NodeID == "" {
		return nil, errors.New("envoy bootstrap: NodeID: must not be empty")
	}
	v := bootstrapView{EnvoyVersion: SupportedVersion, NodeID: p.NodeID}
	listeners := []struct {
		field, addr string
		dst         *hostPort
	}{
		{"Edge", p.Edge, &v.Edge},
		{"Egress", p.Egress, &v.Egress},
		{"Admin", p.Admin, &v.Admin},
	}
	for _, l := range listeners {
		hp, err := splitAddr(l.field, l.addr)
		if err != nil {
			return nil, err
		}
		// Envoy binds listeners to IPs only; a hostname fails at startup with a far less
		// helpful message.
		if _, err := netip.ParseAddr(hp.Host); err != nil {
			return nil, fmt.Errorf("envoy bootstrap: %s: %q: Envoy listens on IP addresses only, not on hostname %q", l.field, l.addr, hp.Host)
		}
		*l.dst = hp
	}
	upstreams := []struct {
		field, addr, cluster string
		http2                bool
	}{
		{"XDS", p.XDS, envoynames.ClusterXDS, true},
		{"Authz", p.Authz, envoynames.ClusterAuthz, true},
		{"ExtProc", p.ExtProc, envoynames.ClusterExtProc, true},
		{"HTTP", p.HTTP, envoynames.ClusterHTTP, false},
	}
	for _, u := range upstreams {
		hp, err := splitAddr(u.field, u.addr)
		if err != nil {
			return nil, err
		}
		v.Clusters = append(v.Clusters, clusterView{Name: u.cluster, HTTP2: u.http2, Addr: hp})
	}
	if p.TraceCollector != "" {
		hp, err := splitAddr("TraceCollector", p.TraceCollector)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(p.TraceSampling) || p.TraceSampling < 0 || p.TraceSampling > 1 {
			return nil, fmt.Errorf("envoy bootstrap: TraceSampling: %v is not between 0 and 1", p.TraceSampling)
		}
		v.Clusters = append(v.Clusters, clusterView{Name: envoynames.ClusterOTLP, HTTP2: true, Addr: hp})
		v.Tracing = &tracingView{PerMillion: uint32(math.Round(p.TraceSampling * 1e6)), Cluster: envoynames.ClusterOTLP}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("envoy bootstrap: %w", err)
	}
	return buf.Bytes(), nil
}

// splitAddr checks that addr is host:port with a usable port and returns it split.
func splitAddr(field, addr string) (hostPort, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return hostPort{}, fmt.Errorf("envoy bootstrap: %s: %q is not host:port: %w", field, addr, err)
	}
	if host == "" {
		return hostPort{}, fmt.Errorf("envoy bootstrap: %s: %q has no host", field, addr)
	}
	if _, err := netip.ParseAddr(host); err != nil && !isDNSName(host) {
		return hostPort{}, fmt.Errorf("envoy bootstrap: %s: %q: %q is neither an IP address nor a DNS name", field, addr, host)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return hostPort{}, fmt.Errorf("envoy bootstrap: %s: %q: port must be 1-65535", field, addr)
	}
	return hostPort{Host: host, Port: uint16(port)}, nil
}

// isDNSName accepts RFC 1123 host names (plus "_", which docker service names may contain).
func isDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// quote renders s as a JSON string, which YAML reads back as the same double-quoted scalar.
func quote(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

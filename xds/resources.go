// Package xds serves Envoy its dynamic configuration over ADS: one cluster per connector and the
// route tables of the edge and egress listeners, rebuilt from vmcp's config on every reload and
// handed to go-control-plane's snapshot cache as a whole, immutable snapshot.
package xds

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	bufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/buffer/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

// ClusterName is the Envoy cluster of a connector.
func ClusterName(connector string) string { return "connector_" + connector }

// Resources is one complete set of xDS resources built from a configuration.
type Resources struct {
	Clusters []*clusterv3.Cluster
	Routes   []*routev3.RouteConfiguration
}

// Build turns a validated configuration into Envoy resources.
func Build(cfg *config.Config) (*Resources, error) {
	res := &Resources{}
	upstreams := make(map[string]*upstream, len(cfg.Connectors))
	for i := range cfg.Connectors {
		c := &cfg.Connectors[i]
		u, err := parseUpstream(c.URL)
		if err != nil {
			return nil, fmt.Errorf("connector %q: %w", c.Name, err)
		}
		upstreams[c.Name] = u
		res.Clusters = append(res.Clusters, buildCluster(c.Name, u, cfg.Server.Envoy.CAFile))
	}
	res.Routes = append(res.Routes,
		buildEdgeRoutes(cfg, upstreams),
		buildEgressRoutes(cfg, upstreams))
	return res, nil
}

// upstream is a connector URL split into what Envoy needs.
type upstream struct {
	host string
	port uint32
	tls  bool
	// authority is what the connector expects in Host: its own name, not the client's view of
	// vmcp. go-sdk servers on loopback reject a non-loopback Host (DNS-rebinding protection), and
	// https virtual hosts need it to match SNI.
	authority string
	path      string
}

func parseUpstream(raw string) (*upstream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	up := &upstream{host: u.Hostname(), tls: u.Scheme == "https", authority: u.Host, path: u.EscapedPath()}
	if up.path == "" {
		up.path = "/"
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if up.tls {
			port = "443"
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", port)
	}
	up.port = uint32(p)
	return up, nil
}

// Upstream connection lifetimes for connector clusters. Envoy's default keeps an idle upstream
// connection for an hour and a busy one forever: a connector that vanishes without a FIN (a
// crashed host, a NAT or load balancer that forgot the flow) leaves sockets pinned in the pool,
// and a connector scaled out behind a DNS name never gets traffic on old connections.
const (
	// ConnectorIdleTimeout closes a pooled connection with no request on it. One minute is
	// well above the gap between calls of an active client and well below what leaked sockets
	// would pile up to.
	ConnectorIdleTimeout = 60 * time.Second
	// ConnectorMaxConnectionDuration drains a connection this old: no new request goes on it,
	// and it closes once its requests (an SSE stream included) have finished, so nothing in
	// flight is cut.
	ConnectorMaxConnectionDuration = time.Hour
)

// connectorProtocolOptions keeps HTTP/1.1 to the connector (what Envoy does without options) and
// sets the connection lifetimes above.
func connectorProtocolOptions() map[string]*anypb.Any {
	opts := &upstreamhttpv3.HttpProtocolOptions{
		CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{
			IdleTimeout:           durationpb.New(ConnectorIdleTimeout),
			MaxConnectionDuration: durationpb.New(ConnectorMaxConnectionDuration),
		},
		UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{
					HttpProtocolOptions: &corev3.Http1ProtocolOptions{},
				},
			},
		},
	}
	return map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(opts)}
}

func buildCluster(name string, u *upstream, caFile string) *clusterv3.Cluster {
	discovery := clusterv3.Cluster_STRICT_DNS
	if net.ParseIP(u.host) != nil {
		discovery = clusterv3.Cluster_STATIC
	}
	c := &clusterv3.Cluster{
		Name:                          ClusterName(name),
		ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: discovery},
		ConnectTimeout:                durationpb.New(5 * time.Second),
		DnsLookupFamily:               clusterv3.Cluster_V4_PREFERRED,
		TypedExtensionProtocolOptions: connectorProtocolOptions(),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: ClusterName(name),
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
							Address:       u.host,
							PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: u.port},
						}}},
					}},
				}},
			}},
		},
	}
	if u.tls {
		// Envoy trusts nothing by default and checks no name unless told: verify the chain
		// against the configured bundle and the certificate against the connector's host.
		tlsCtx := &tlsv3.UpstreamTlsContext{
			Sni: u.host,
			CommonTlsContext: &tlsv3.CommonTlsContext{
				ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{
					ValidationContext: &tlsv3.CertificateValidationContext{
						TrustedCa: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: caFile}},
						MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{
							SanType: sanType(u.host),
							Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: u.host}},
						}},
					},
				},
			},
		}
		c.TransportSocket = &corev3.TransportSocket{
			Name:       "envoy.transport_sockets.tls",
			ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(tlsCtx)},
		}
	}
	return c
}

func sanType(host string) tlsv3.SubjectAltNameMatcher_SanType {
	if net.ParseIP(host) != nil {
		return tlsv3.SubjectAltNameMatcher_IP_ADDRESS
	}
	return tlsv3.SubjectAltNameMatcher_DNS
}

// buildEdgeRoutes routes client traffic. Order matters: Envoy takes the first match.
//  1. vmcp's own public endpoints (OAuth, well-known metadata, connect) go to vmcp_http without
//     ext_authz or ext_proc: they must be reachable before a client has a token.
//  2. For each virtual server, a request that extproc has tagged with a connector goes to that
//     connector's cluster, with the path and Host rewritten to the connector's own.
//  3. Any other request on a virtual server's path goes to the aggregator.
//  4. Everything else is 404 without bothering authz.
func buildEdgeRoutes(cfg *config.Config, ups map[string]*upstream) *routev3.RouteConfiguration {
	public := publicFilterOverrides()
	virtualServer := virtualServerFilterOverrides()
	routes := []*routev3.Route{
		prefixToHTTP("/.well-known/", public),
		prefixToHTTP("/oauth/", public),
		// The web console signs browsers in itself (vmcp's login, then a session cookie).
		prefixToHTTP("/console/", public),
		// The connect flow signs the browser in itself (vmcp's login, then a cookie).
		prefixToHTTP("/connect/", public),
	}
	connectors := make(map[string]*config.Connector, len(cfg.Connectors))
	for i := range cfg.Connectors {
		connectors[cfg.Connectors[i].Name] = &cfg.Connectors[i]
	}
	for _, vs := range cfg.VirtualServers {
		for _, ref := range vs.Connectors {
			c := connectors[ref.Name]
			u := ups[ref.Name]
			if names := envoynames.PlainRouteHeaders(c); names != nil {
				routes = append(routes, directRoute(&vs, c, u, names), plainRoute(&vs, c, u, names))
			}
			routes = append(routes, &routev3.Route{
				Name: "vs_" + vs.Name + "_" + c.Name,
				Match: &routev3.RouteMatch{
					PathSpecifier: &routev3.RouteMatch_Path{Path: vs.Path},
					Headers:       []*routev3.HeaderMatcher{exactHeader(headers.Connector, c.Name)},
				},
				Action: &routev3.Route_Route{Route: connectorAction(c, u, true)},
				// The routing tag has done its job; the connector must not see it.
				RequestHeadersToRemove: vmcpHeaders(),
				TypedPerFilterConfig:   virtualServer,
			})
		}
		routes = append(routes, &routev3.Route{
			Name:  "vs_" + vs.Name,
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: vs.Path}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: envoynames.ClusterHTTP},
				// GET streams and SSE answers stay open; the listener's stream idle timeout bounds them.
				Timeout: durationpb.New(0),
			}},
			TypedPerFilterConfig: virtualServer,
		})
	}
	routes = append(routes, &routev3.Route{
		Name:                 "not_found",
		Match:                &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action:               &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 404, Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "no virtual MCP server at this path\n"}}}},
		TypedPerFilterConfig: public,
	})
	return &routev3.RouteConfiguration{
		Name: envoynames.RouteEdge,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "edge",
			Domains: []string{"*"},
			Routes:  routes,
			// extproc reads whole request bodies (BUFFERED): this bounds what Envoy holds, and
			// a larger body gets 413 before anything parses it.
			RequestBodyBufferLimit: wrapperspb.UInt64(uint64(cfg.Server.MaxRequestBytes)),
		}},
	}
}

// buildEgressRoutes routes the aggregator's fan-out: it sends each request to the connector's
// own path with the connector header, and Envoy picks the cluster.
func buildEgressRoutes(cfg *config.Config, ups map[string]*upstream) *routev3.RouteConfiguration {
	var routes []*routev3.Route
	for i := range cfg.Connectors {
		c := &cfg.Connectors[i]
		routes = append(routes, &routev3.Route{
			Name: "egress_" + c.Name,
			Match: &routev3.RouteMatch{
				PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
				Headers:       []*routev3.HeaderMatcher{exactHeader(headers.Connector, c.Name)},
			},
			Action:                 &routev3.Route_Route{Route: connectorAction(c, ups[c.Name], false)},
			RequestHeadersToRemove: vmcpHeaders(),
		})
	}
	routes = append(routes, &routev3.Route{
		Name:   "unknown_connector",
		Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{Status: 404, Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "unknown connector\n"}}}},
	})
	return &routev3.RouteConfiguration{
		Name:         envoynames.RouteEgress,
		VirtualHosts: []*routev3.VirtualHost{{Name: "egress", Domains: []string{"*"}, Routes: routes}},
	}
}

// connectorAction forwards to a connector. On the edge the path is the virtual server's and must
// become the connector's; on egress the aggregator already uses the connector's path.
func connectorAction(c *config.Connector, u *upstream, rewritePath bool) *routev3.RouteAction {
	a := &routev3.RouteAction{
		ClusterSpecifier:     &routev3.RouteAction_Cluster{Cluster: ClusterName(c.Name)},
		HostRewriteSpecifier: &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: u.authority},
		Timeout:              durationpb.New(c.CallTimeout),
	}
	if rewritePath {
		// With an exact path match, prefix_rewrite replaces the whole path.
		a.PrefixRewrite = u.path
	}
	return a
}

// vmcpHeaders are vmcp's own request headers, which a connector must not see: the routing tag,
// the caller's signed identity and authz's decision (its audit hand-off).
func vmcpHeaders() []string { return []string{headers.Connector, headers.Identity, headers.Decision} }

func exactHeader(name, value string) *routev3.HeaderMatcher {
	return &routev3.HeaderMatcher{
		Name: name,
		HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Exact{Exact: value},
		}},
	}
}

func prefixToHTTP(prefix string, overrides map[string]*anypb.Any) *routev3.Route {
	return &routev3.Route{
		Name:                 "vmcp" + prefix,
		Match:                &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}},
		Action:               &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: envoynames.ClusterHTTP}}},
		TypedPerFilterConfig: overrides,
	}
}

// publicFilterOverrides turns off ext_authz, ext_proc and the buffer on routes that need no
// token.
func publicFilterOverrides() map[string]*anypb.Any {
	return map[string]*anypb.Any{
		envoynames.FilterExtAuthz: mustAny(&extauthzv3.ExtAuthzPerRoute{Override: &extauthzv3.ExtAuthzPerRoute_Disabled{Disabled: true}}),
		envoynames.FilterExtProc:  mustAny(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Disabled{Disabled: true}}),
		envoynames.FilterBuffer:   noBuffer(),
	}
}

// noBuffer turns the buffer filter off: only plain routes hold a request back until its body
// is complete (plainFilterOverrides).
func noBuffer() *anypb.Any {
	return mustAny(&bufferv3.BufferPerRoute{Override: &bufferv3.BufferPerRoute_Disabled{Disabled: true}})
}

// EdgeProcessingMode is what ext_proc sends extproc on a virtual server's routes: the request
// headers and the whole body (routing depends on the JSON-RPC body; BUFFERED, not STREAMED,
// because header mutations sent in a streamed body phase are silently ignored) and the response
// headers (the connector's session id, its faults, and the switch to streamed SSE answers).
//
// The edge listener's own default skips response headers: a local reply Envoy makes before any
// route matched (431 for headers over max_request_headers_kb, 400 for a malformed request) would
// otherwise wait on a gRPC round trip to extproc, and the HTTP/1 codec closes the connection
// right after such a reply, dropping it: the client saw a bare close instead of the status.
func EdgeProcessingMode() *extprocv3.ProcessingMode {
	return &extprocv3.ProcessingMode{
		RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
		ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
		RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED,
		ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
		RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
		ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
	}
}

// virtualServerFilterOverrides turns on ext_proc's response processing on a virtual server's
// routes (see EdgeProcessingMode).
func virtualServerFilterOverrides() map[string]*anypb.Any {
	return map[string]*anypb.Any{
		envoynames.FilterExtProc: mustAny(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{
			Overrides: &extprocv3.ExtProcOverrides{ProcessingMode: EdgeProcessingMode()},
		}}),
		envoynames.FilterBuffer: noBuffer(),
	}
}

// PlainProcessingMode is ext_proc's mode on a connector's own route, which a tools/call takes
// when authz hinted its connector (authz/hint.go): the body only, with the request headers
// extproc needs passed on by authz as metadata, so the call costs extproc one message before the
// answer instead of two. The answer is handled as on the general route.
func PlainProcessingMode() *extprocv3.ProcessingMode {
	m := EdgeProcessingMode()
	m.RequestHeaderMode = extprocv3.ProcessingMode_SKIP
	return m
}

// plainRoute is connector c's plain route on vs, which a tools/call takes when authz hinted c
// (authz/hint.go): ext_proc in PlainProcessingMode, and the headers extproc decides (names) set
// from its metadata. A request extproc names the connector of on the general route takes the
// connector's other route, which matches on that header instead.
func plainRoute(vs *config.VirtualServer, c *config.Connector, u *upstream, names []string) *routev3.Route {
	r := &routev3.Route{
		Name: "vs_" + vs.Name + "_" + c.Name + "_plain",
		Match: &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Path{Path: vs.Path},
			Headers:       []*routev3.HeaderMatcher{exactHeader(headers.RouteHint, c.Name)},
		},
		Action:                 &routev3.Route_Route{Route: connectorAction(c, u, true)},
		RequestHeadersToRemove: append(vmcpHeaders(), headers.RouteHint, headers.DirectAnswer),
		TypedPerFilterConfig:   plainFilterOverrides(),
	}
	r.RequestHeadersToRemove = append(r.RequestHeadersToRemove, names...)
	for _, n := range names {
		r.RequestHeadersToAdd = append(r.RequestHeadersToAdd, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: n, Value: "%DYNAMIC_METADATA(" + envoynames.RouteMetadata + ":" + n + ")%"},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			// Absent from the metadata: not sent at all.
			KeepEmptyValue: false,
		})
	}
	return r
}

// DirectProcessingMode is ext_proc's mode on a connector's direct route: the body only, as on
// its plain route, and nothing of the answer, which needs no rewriting there.
func DirectProcessingMode() *extprocv3.ProcessingMode {
	m := PlainProcessingMode()
	m.ResponseHeaderMode = extprocv3.ProcessingMode_SKIP
	m.ResponseBodyMode = extprocv3.ProcessingMode_NONE
	return m
}

// directRoute is connector c's direct route on vs, which a tools/call takes when authz hinted c
// and knows it speaks the client's revision (authz/hint.go): its plain route, with the answer
// left to Envoy. The connector's session id (it should send none) is kept from the client,
// Envoy's filters read the answer's outcome into metadata for the access log (envoynames
// direct.go), and a JSON answer may be as large as the route's buffer limit allows.
func directRoute(vs *config.VirtualServer, c *config.Connector, u *upstream, names []string) *routev3.Route {
	r := plainRoute(vs, c, u, names)
	r.Name = "vs_" + vs.Name + "_" + c.Name + envoynames.DirectRouteSuffix
	r.Match.Headers = append(r.Match.Headers, exactHeader(headers.DirectAnswer, "1"))
	r.ResponseHeadersToRemove = []string{headers.SessionID}
	r.RequestBodyBufferLimit = wrapperspb.UInt64(envoynames.MaxDirectAnswer)
	r.TypedPerFilterConfig = map[string]*anypb.Any{
		envoynames.FilterExtProc: mustAny(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{
			Overrides: &extprocv3.ExtProcOverrides{ProcessingMode: DirectProcessingMode()},
		}}),
	}
	return r
}

// plainFilterOverrides sets PlainProcessingMode.
func plainFilterOverrides() map[string]*anypb.Any {
	return map[string]*anypb.Any{
		envoynames.FilterExtProc: mustAny(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{
			Overrides: &extprocv3.ExtProcOverrides{
				ProcessingMode: PlainProcessingMode(),
			},
		}}),
	}
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(fmt.Sprintf("xds: marshal %T: %v", m, err)) // only on a programming error
	}
	return a
}

package xds

import (
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

func findRoute(t *testing.T, rc *routev3.RouteConfiguration, name string) *routev3.Route {
	t.Helper()
	for _, r := range rc.VirtualHosts[0].Routes {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("route %q not found", name)
	return nil
}

func TestConnectorRouteRewritesPathAndHostAndNeedsTheRoutingHeader(t *testing.T) {
	res, err := Build(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	edge := res.Routes[0]
	r := findRoute(t, edge, "vs_demo_search")
	if got := r.Match.GetPath(); got != "/v/demo/mcp" {
		t.Errorf("path match = %q", got)
	}
	if len(r.Match.Headers) != 1 || r.Match.Headers[0].Name != headers.Connector || r.Match.Headers[0].GetStringMatch().GetExact() != "search" {
		t.Errorf("header match = %v, want %s: search", r.Match.Headers, headers.Connector)
	}
	a := r.GetRoute()
	if a.GetCluster() != "connector_search" || a.PrefixRewrite != "/v1/mcp" || a.GetHostRewriteLiteral() != "search.example.com" {
		t.Errorf("action = cluster %q rewrite %q host %q", a.GetCluster(), a.PrefixRewrite, a.GetHostRewriteLiteral())
	}
	// Every route to a connector, on the edge or egress, strips vmcp's own headers.
	routes := 0
	for _, rc := range res.Routes {
		for _, r := range rc.VirtualHosts[0].Routes {
			if !strings.HasPrefix(r.GetRoute().GetCluster(), "connector_") {
				continue
			}
			routes++
			removed := map[string]bool{}
			for _, h := range r.RequestHeadersToRemove {
				removed[h] = true
			}
			if !removed[headers.Connector] || !removed[headers.Identity] || !removed[headers.Decision] {
				t.Errorf("connector route %s must strip vmcp's headers, strips %v", r.Name, r.RequestHeadersToRemove)
			}
		}
	}
	if routes < 2 {
		t.Errorf("checked %d connector routes; want the edge's and egress's", routes)
	}
}

func TestPublicRoutesBypassAuthzAndExtProc(t *testing.T) {
	res, err := Build(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vmcp/.well-known/", "vmcp/oauth/", "vmcp/console/", "vmcp/connect/", "not_found"} {
		r := findRoute(t, res.Routes[0], name)
		if r.TypedPerFilterConfig[envoynames.FilterExtAuthz] == nil || r.TypedPerFilterConfig[envoynames.FilterExtProc] == nil {
			t.Errorf("route %s does not disable both filters: %v", name, r.TypedPerFilterConfig)
		}
	}
	r := findRoute(t, res.Routes[0], "vs_demo")
	if r.TypedPerFilterConfig[envoynames.FilterExtAuthz] != nil {
		t.Errorf("the virtual server route must keep authz on, has %v", r.TypedPerFilterConfig)
	}
	var pr extprocv3.ExtProcPerRoute
	if err := r.TypedPerFilterConfig[envoynames.FilterExtProc].UnmarshalTo(&pr); err != nil || pr.GetDisabled() {
		t.Errorf("the virtual server route must keep extproc on, has %v (%v)", r.TypedPerFilterConfig, err)
	}
}

// The listener's ext_proc skips response headers (so Envoy's route-less local replies, a 431
// say, are not dropped); every virtual server route must turn them back on, with the request
// body still buffered, or connector answers would pass extproc unseen.
func TestVirtualServerRoutesProcessResponseHeaders(t *testing.T) {
	res, err := Build(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range res.Routes[0].VirtualHosts[0].Routes {
		if !strings.HasPrefix(r.Name, "vs_") {
			continue
		}
		n++
		var pr extprocv3.ExtProcPerRoute
		if err := r.TypedPerFilterConfig[envoynames.FilterExtProc].UnmarshalTo(&pr); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		if err := pr.ValidateAll(); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
		m := pr.GetOverrides().GetProcessingMode()
		// A connector's own routes are plain: authz passes the headers on, extproc gets the
		// body; on its direct route extproc gets nothing of the answer either.
		wantHeaders, wantAnswer := extprocv3.ProcessingMode_SEND, extprocv3.ProcessingMode_SEND
		switch {
		case strings.HasSuffix(r.Name, "_plain"):
			wantHeaders = extprocv3.ProcessingMode_SKIP
		case strings.HasSuffix(r.Name, envoynames.DirectRouteSuffix):
			wantHeaders, wantAnswer = extprocv3.ProcessingMode_SKIP, extprocv3.ProcessingMode_SKIP
		}
		if m.GetResponseHeaderMode() != wantAnswer || m.GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED || m.GetRequestHeaderMode() != wantHeaders {
			t.Errorf("%s: processing mode %v", r.Name, m)
		}
	}
	if n < 2 {
		t.Fatalf("only %d virtual server routes", n)
	}
}

func TestHTTPSClusterVerifiesTheConnectorsName(t *testing.T) {
	res, err := Build(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Clusters {
		if c.Name != "connector_search" {
			continue
		}
		var tc tlsv3.UpstreamTlsContext
		if err := c.TransportSocket.GetTypedConfig().UnmarshalTo(&tc); err != nil {
			t.Fatal(err)
		}
		if tc.Sni != "search.example.com" {
			t.Errorf("SNI = %q", tc.Sni)
		}
		vc := tc.CommonTlsContext.GetValidationContext()
		if vc.GetTrustedCa().GetFilename() == "" || len(vc.MatchTypedSubjectAltNames) != 1 || vc.MatchTypedSubjectAltNames[0].Matcher.GetExact() != "search.example.com" {
			t.Errorf("validation context does not pin the CA and the name: %v", vc)
		}
		return
	}
	t.Fatal("connector_search cluster missing")
}

func TestConnectorConnectionsHaveAnIdleTimeoutAndAMaximumAge(t *testing.T) {
	res, err := Build(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Clusters) == 0 {
		t.Fatal("no connector clusters")
	}
	for _, c := range res.Clusters {
		a := c.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
		if a == nil {
			t.Errorf("%s: no HttpProtocolOptions, so Envoy keeps idle connections for an hour and busy ones forever", c.Name)
			continue
		}
		var po upstreamhttpv3.HttpProtocolOptions
		if err := a.UnmarshalTo(&po); err != nil {
			t.Fatal(err)
		}
		if err := po.ValidateAll(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		common := po.GetCommonHttpProtocolOptions()
		if got := common.GetIdleTimeout().AsDuration(); got != ConnectorIdleTimeout {
			t.Errorf("%s: idle timeout %v, want %v", c.Name, got, ConnectorIdleTimeout)
		}
		if got := common.GetMaxConnectionDuration().AsDuration(); got != ConnectorMaxConnectionDuration {
			t.Errorf("%s: max connection duration %v, want %v", c.Name, got, ConnectorMaxConnectionDuration)
		}
		// Connectors speak HTTP/1.1 (MCP's Streamable HTTP); the options must not switch them.
		if po.GetExplicitHttpConfig().GetHttpProtocolOptions() == nil {
			t.Errorf("%s: upstream protocol is not HTTP/1.1: %v", c.Name, po.GetUpstreamProtocolOptions())
		}
	}
}

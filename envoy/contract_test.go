package envoy

import (
	"slices"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/vmcp-dev/vmcp/extproc"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

// The bootstrap is one half of a contract whose other half is vmcp's xDS routes and its gRPC
// servers. These tests pin the half that lives here.

// renderedBootstrap is the default bootstrap, rendered and decoded.
func renderedBootstrap(t *testing.T) *bootstrapv3.Bootstrap {
	t.Helper()
	return renderBootstrap(t, defaultParams())
}

// renderBootstrap is the bootstrap of p, rendered and decoded strictly.
func renderBootstrap(t *testing.T, p BootstrapParams) *bootstrapv3.Bootstrap {
	t.Helper()
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := decodeStrict(out, &b); err != nil {
		t.Fatal(err)
	}
	return &b
}

func hcmOf(t *testing.T, b *bootstrapv3.Bootstrap, listener string) *hcmv3.HttpConnectionManager {
	t.Helper()
	var l *listenerv3.Listener
	for _, x := range b.GetStaticResources().GetListeners() {
		if x.GetName() == listener {
			l = x
		}
	}
	if l == nil {
		t.Fatalf("no listener %q", listener)
	}
	var hcm hcmv3.HttpConnectionManager
	if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatal(err)
	}
	return &hcm
}

func filterNames(hcm *hcmv3.HttpConnectionManager) []string {
	var names []string
	for _, f := range hcm.GetHttpFilters() {
		names = append(names, f.GetName())
	}
	return names
}

func extProcOf(t *testing.T, hcm *hcmv3.HttpConnectionManager) *extprocv3.ExternalProcessor {
	t.Helper()
	for _, f := range hcm.GetHttpFilters() {
		if f.GetName() == envoynames.FilterExtProc {
			var p extprocv3.ExternalProcessor
			if err := f.GetTypedConfig().UnmarshalTo(&p); err != nil {
				t.Fatal(err)
			}
			return &p
		}
	}
	t.Fatal("no ext_proc filter")
	return nil
}

func TestEdgeListenerRunsAuthzThenExtProcThenRouter(t *testing.T) {
	hcm := hcmOf(t, renderedBootstrap(t), "edge")
	// The buffer is off on every route but connectors' plain routes, and the answer readers
	// on every route but their direct ones (xds).
	want := []string{envoynames.FilterExtAuthz, envoynames.FilterExtProc, envoynames.FilterBuffer, envoynames.FilterJSONAnswer, envoynames.FilterSSEAnswer, envoynames.FilterRouter}
	if got := filterNames(hcm); !slices.Equal(got, want) {
		t.Errorf("edge filters = %v, want %v", got, want)
	}
	if got := hcm.GetRds().GetRouteConfigName(); got != envoynames.RouteEdge {
		t.Errorf("edge RDS name = %q", got)
	}
	if !hcm.GetNormalizePath().GetValue() || !hcm.GetMergeSlashes() ||
		hcm.GetPathWithEscapedSlashesAction() != hcmv3.HttpConnectionManager_REJECT_REQUEST {
		t.Error("edge does not normalise paths before route matching")
	}
}

func TestEgressListenerRunsExtProcThenRouter(t *testing.T) {
	hcm := hcmOf(t, renderedBootstrap(t), "egress")
	want := []string{envoynames.FilterExtProc, envoynames.FilterRouter}
	if got := filterNames(hcm); !slices.Equal(got, want) {
		t.Errorf("egress filters = %v, want %v", got, want)
	}
	if got := hcm.GetRds().GetRouteConfigName(); got != envoynames.RouteEgress {
		t.Errorf("egress RDS name = %q", got)
	}
}

func TestSideServicesFailClosed(t *testing.T) {
	b := renderedBootstrap(t)
	edge := hcmOf(t, b, "edge")
	var authz extauthzv3.ExtAuthz
	if err := edge.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(&authz); err != nil {
		t.Fatal(err)
	}
	if authz.GetFailureModeAllow() || authz.GetStatusOnError().GetCode() != typev3.StatusCode_ServiceUnavailable {
		t.Error("ext_authz lets requests through when authz fails")
	}
	if !authz.GetClearRouteCache() {
		t.Error("ext_authz keeps a route chosen before it removed client-sent x-vmcp-* headers")
	}
	if got := authz.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != envoynames.ClusterAuthz {
		t.Errorf("ext_authz calls %q", got)
	}
	for _, listener := range []string{"edge", "egress"} {
		p := extProcOf(t, hcmOf(t, b, listener))
		if p.GetFailureModeAllow() {
			t.Errorf("%s: ext_proc lets requests through when extproc fails", listener)
		}
		if listener == "edge" && p.GetStatusOnError().GetCode() != typev3.StatusCode_ServiceUnavailable {
			t.Errorf("edge: ext_proc answers %v when extproc fails, want 503 (clients retry it)", p.GetStatusOnError().GetCode())
		}
		if got := p.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != envoynames.ClusterExtProc {
			t.Errorf("%s: ext_proc calls %q", listener, got)
		}
		md := p.GetGrpcService().GetInitialMetadata()
		if len(md) != 1 || md[0].GetKey() != headers.Listener || md[0].GetValue() != listener {
			t.Errorf("%s: ext_proc initial metadata = %v, want %s: %s", listener, md, headers.Listener, listener)
		}
		if p.GetMessageTimeout().AsDuration() < 1e9 {
			t.Errorf("%s: ext_proc message_timeout %v is below a second", listener, p.GetMessageTimeout().AsDuration())
		}
	}
}

func TestEdgeExtProcSeesAuthzMetadataAndBufferedBodies(t *testing.T) {
	p := extProcOf(t, hcmOf(t, renderedBootstrap(t), "edge"))
	if got := p.GetMaxMessageTimeout().AsDuration(); got < extproc.RetryWait {
		t.Errorf("max_message_timeout %v is below extproc's wait for a call sent again in a new connector session (%v)", got, extproc.RetryWait)
	}
	if got := p.GetMetadataOptions().GetForwardingNamespaces().GetUntyped(); !slices.Equal(got, []string{envoynames.FilterExtAuthz}) {
		t.Errorf("forwarded namespaces = %v", got)
	}
	// Response headers are off at the listener and on per virtual server route (xds
	// TestVirtualServerRoutesProcessResponseHeaders), so route-less local replies are not dropped.
	m := p.GetProcessingMode()
	if m.GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED || m.GetResponseHeaderMode() != extprocv3.ProcessingMode_SKIP {
		t.Errorf("processing mode = %v", m)
	}
	if !p.GetAllowModeOverride() {
		t.Error("mode_override (SSE responses) would be ignored")
	}
}

func TestClustersReachVMCP(t *testing.T) {
	b := renderedBootstrap(t)
	want := map[string]struct {
		http2 bool
		port  uint32
	}{
		envoynames.ClusterXDS: {true, 18000}, envoynames.ClusterAuthz: {true, 18001}, envoynames.ClusterExtProc: {true, 18002}, envoynames.ClusterHTTP: {false, 18003},
	}
	got := map[string]bool{}
	for _, c := range b.GetStaticResources().GetClusters() {
		w, ok := want[c.GetName()]
		if !ok {
			t.Errorf("unexpected cluster %q", c.GetName())
			continue
		}
		got[c.GetName()] = true
		if c.GetType() != clusterv3.Cluster_STRICT_DNS {
			t.Errorf("%s: type %v", c.GetName(), c.GetType())
		}
		sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		if sa.GetAddress() != "127.0.0.1" || sa.GetPortValue() != w.port {
			t.Errorf("%s: endpoint %s:%d", c.GetName(), sa.GetAddress(), sa.GetPortValue())
		}
		opts, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
		http2 := false
		if ok {
			var po upstreamhttpv3.HttpProtocolOptions
			if err := opts.UnmarshalTo(&po); err != nil {
				t.Fatal(err)
			}
			http2 = po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
		}
		if http2 != w.http2 {
			t.Errorf("%s: HTTP/2 = %v, want %v", c.GetName(), http2, w.http2)
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("no cluster %q", name)
		}
	}
	ads := b.GetDynamicResources().GetAdsConfig()
	if got := ads.GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName(); got != envoynames.ClusterXDS {
		t.Errorf("ADS goes to %q", got)
	}
	if b.GetDynamicResources().GetLdsConfig() != nil {
		t.Error("listeners must stay static: no LDS")
	}
}

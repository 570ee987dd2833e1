package envoy

import (
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
)

// Without explicit lifetimes Envoy keeps an idle upstream connection for an hour and a busy one
// forever; every static cluster (vmcp's own servers) must bound both.
func TestEveryStaticClusterBoundsItsConnectionsLifetime(t *testing.T) {
	clusters := renderedBootstrap(t).GetStaticResources().GetClusters()
	if len(clusters) == 0 {
		t.Fatal("no static clusters")
	}
	for _, c := range clusters {
		po := protocolOptions(t, c)
		if po == nil {
			t.Errorf("%s: no HttpProtocolOptions", c.GetName())
			continue
		}
		common := po.GetCommonHttpProtocolOptions()
		if got := common.GetIdleTimeout().AsDuration(); got <= 0 || got > 5*time.Minute {
			t.Errorf("%s: idle timeout %v, want set and at most 5m", c.GetName(), got)
		}
		if got := common.GetMaxConnectionDuration().AsDuration(); got <= 0 || got > 24*time.Hour {
			t.Errorf("%s: max connection duration %v, want set and at most 24h", c.GetName(), got)
		}
		http2 := po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
		if wantHTTP2 := c.GetName() != envoynames.ClusterHTTP; http2 != wantHTTP2 {
			t.Errorf("%s: HTTP/2 %v, want %v (gRPC needs HTTP/2, vmcp's HTTP server speaks HTTP/1.1)", c.GetName(), http2, wantHTTP2)
		}
	}
}

// protocolOptions is a cluster's HttpProtocolOptions; nil when it has none.
func protocolOptions(t *testing.T, c *clusterv3.Cluster) *upstreamhttpv3.HttpProtocolOptions {
	t.Helper()
	a := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if a == nil {
		return nil
	}
	var po upstreamhttpv3.HttpProtocolOptions
	if err := a.UnmarshalTo(&po); err != nil {
		t.Fatalf("%s: %v", c.GetName(), err)
	}
	return &po
}

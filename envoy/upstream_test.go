package envoy

import (
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
)

// Without explicit lifetimes Envoy keeps an idle upstream connection for an hour and a busy one
// forever; every static cluster (vmcp's own servers) must bound both.
func TestEveryStaticClusterBoundsItsConnectionsLifetime(t *testing.T) {
	out, err := Render(defaultParams())
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := decodeStrict(out, &b); err != nil {
		t.Fatal(err)
	}
	clusters := b.GetStaticResources().GetClusters()
	if len(clusters) == 0 {
		t.Fatal("no static clusters")
	}
	for _, c := range clusters {
		a := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
		if a == nil {
			t.Errorf("%s: no HttpProtocolOptions", c.GetName())
			continue
		}
		var po upstreamhttpv3.HttpProtocolOptions
		if err := a.UnmarshalTo(&po); err != nil {
			t.Fatal(err)
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

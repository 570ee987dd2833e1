package xds

import (
	"context"
	"net"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
)

const baseConfig = `
connectors:
  - name: notes
    url: http://127.0.0.1:19001/mcp
  - name: search
    url: https://search.example.com/v1/mcp
virtual_servers:
  - name: demo
    connectors: [notes, search]
`

func load(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Load("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	return cfg
}

// adsClient is a real ADS gRPC client, as Envoy would open it.
type adsClient struct {
	t      *testing.T
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
}

func startADS(t *testing.T, srv *Server) *adsClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { srv.Serve(ctx, lis); close(served) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel(); <-served })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &adsClient{t: t, stream: stream}
}

func (c *adsClient) request(typeURL string, names []string, ack *discoveryv3.DiscoveryResponse) {
	c.t.Helper()
	req := &discoveryv3.DiscoveryRequest{
		Node:          &corev3.Node{Id: "any-envoy", Cluster: "test"},
		TypeUrl:       typeURL,
		ResourceNames: names,
	}
	if ack != nil {
		req.VersionInfo, req.ResponseNonce = ack.VersionInfo, ack.Nonce
	}
	if err := c.stream.Send(req); err != nil {
		c.t.Fatal(err)
	}
}

func (c *adsClient) receive() *discoveryv3.DiscoveryResponse {
	c.t.Helper()
	got := make(chan *discoveryv3.DiscoveryResponse, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := c.stream.Recv()
		if err != nil {
			errc <- err
			return
		}
		got <- r
	}()
	select {
	case r := <-got:
		return r
	case err := <-errc:
		c.t.Fatalf("ADS stream: %v", err)
	case <-time.After(10 * time.Second):
		c.t.Fatal("no ADS response within 10s")
	}
	return nil
}

func clusterNames(t *testing.T, r *discoveryv3.DiscoveryResponse) map[string]*clusterv3.Cluster {
	t.Helper()
	out := map[string]*clusterv3.Cluster{}
	for _, a := range r.Resources {
		var c clusterv3.Cluster
		if err := a.UnmarshalTo(&c); err != nil {
			t.Fatal(err)
		}
		out[c.Name] = &c
	}
	return out
}

func TestADSPushesClustersAndRoutesAndThenTheEditedConfig(t *testing.T) {
	srv := NewServer(zaptest.NewLogger(t))
	commit, err := srv.Prepare(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	commit()
	ads := startADS(t, srv)

	ads.request(resourcev3.ClusterType, nil, nil)
	first := ads.receive()
	clusters := clusterNames(t, first)
	if len(clusters) != 2 || clusters["connector_notes"] == nil || clusters["connector_search"] == nil {
		t.Fatalf("clusters = %v, want connector_notes and connector_search", clusters)
	}
	if clusters["connector_notes"].TransportSocket != nil {
		t.Error("http connector got a TLS transport socket")
	}
	ts := clusters["connector_search"].TransportSocket
	if ts == nil || ts.Name != "envoy.transport_sockets.tls" {
		t.Fatalf("https connector has no TLS transport socket: %v", ts)
	}

	ads.request(resourcev3.RouteType, []string{envoynames.RouteEdge, envoynames.RouteEgress}, nil)
	routes := ads.receive()
	if len(routes.Resources) != 2 {
		t.Fatalf("got %d route configurations, want 2", len(routes.Resources))
	}
	var edge *routev3.RouteConfiguration
	for _, a := range routes.Resources {
		rc := &routev3.RouteConfiguration{}
		if err := a.UnmarshalTo(rc); err != nil {
			t.Fatal(err)
		}
		if rc.Name == envoynames.RouteEdge {
			edge = rc
		}
	}
	names := []string{}
	for _, r := range edge.VirtualHosts[0].Routes {
		names = append(names, r.Name)
	}
	want := []string{"vmcp/.well-known/", "vmcp/oauth/", "vmcp/console/", "vmcp/connect/", "vs_demo_notes_direct", "vs_demo_notes_plain", "vs_demo_notes", "vs_demo_search_direct", "vs_demo_search_plain", "vs_demo_search", "vs_demo", "not_found"}
	if len(names) != len(want) {
		t.Fatalf("edge routes = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("edge routes = %v, want %v", names, want)
		}
	}

	// ACK the clusters, then edit the configuration: a new version must be pushed.
	ads.request(resourcev3.ClusterType, nil, first)
	commit, err = srv.Prepare(load(t, editedConfig))
	if err != nil {
		t.Fatal(err)
	}
	commit()
	var second *discoveryv3.DiscoveryResponse
	for second == nil || second.TypeUrl != resourcev3.ClusterType {
		second = ads.receive()
	}
	if second.VersionInfo == first.VersionInfo {
		t.Fatalf("version did not change after an edit: %s", second.VersionInfo)
	}
	if got := clusterNames(t, second); got["connector_weather"] == nil {
		t.Fatalf("edited config's new connector is missing: %v", got)
	}
}

// editedConfig adds a connector and a virtual server to baseConfig.
const editedConfig = `
connectors:
  - name: notes
    url: http://127.0.0.1:19001/mcp
  - name: search
    url: https://search.example.com/v1/mcp
  - name: weather
    url: http://127.0.0.1:19002/mcp
virtual_servers:
  - name: demo
    connectors: [notes, search, weather]
  - name: extra
    connectors: [notes]
`

func TestUnchangedConfigKeepsItsVersion(t *testing.T) {
	a, err := Build(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(load(t, baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	_, va, err := snapshot(a)
	if err != nil {
		t.Fatal(err)
	}
	_, vb, _ := snapshot(b)
	if va != vb {
		t.Fatalf("same config gave versions %s and %s", va, vb)
	}
}

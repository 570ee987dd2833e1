package envoy

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/xds"
)

// freeAddr returns a loopback address that was free a moment ago (harness.FreeAddr: below the
// ephemeral range, so no outgoing connection takes it before Envoy binds it).
func freeAddr(t *testing.T) string {
	t.Helper()
	return harness.FreeAddr(t)
}

// testBootstrap renders a bootstrap on fresh loopback ports into a temp file. xds, when not
// empty, is the address of an ADS server; the other vmcp servers are left unreachable.
func testBootstrap(t *testing.T, xds string) (path string, p BootstrapParams) {
	t.Helper()
	if xds == "" {
		xds = freeAddr(t)
	}
	p = BootstrapParams{NodeID: NodeID, Edge: freeAddr(t), Egress: freeAddr(t), Admin: freeAddr(t),
		XDS: xds, Authz: freeAddr(t), ExtProc: freeAddr(t), HTTP: freeAddr(t)}
	return writeBootstrap(t, p), p
}

// startEnvoy starts the real Envoy, logging through the test (shown on failure or with -v), and
// stops it when the test ends.
func startEnvoy(t *testing.T, ctx context.Context, bootstrap, admin string) *Process {
	t.Helper()
	p, err := Start(ctx, envoyBin(t), bootstrap, admin, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

// startReadyEnvoy starts the real Envoy on the bootstrap of p, with fresh ports for the
// listeners it binds (edge, egress, admin), and waits until it is ready; it returns the
// parameters it runs with. Another process can take a port between freeAddr and Envoy's bind, and
// Envoy then exits at once: an Envoy that exits before it is ready is started again on fresh
// ports, twice at most, so that a bootstrap Envoy refuses still fails the test.
func startReadyEnvoy(t *testing.T, p BootstrapParams) BootstrapParams {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p.Edge, p.Egress, p.Admin = freeAddr(t), freeAddr(t), freeAddr(t)
		proc := startEnvoy(t, t.Context(), writeBootstrap(t, p), p.Admin)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		err := proc.WaitReady(ctx)
		cancel()
		if err == nil {
			return p
		}
		select {
		case <-proc.Done():
			if attempt < 3 {
				continue
			}
		default:
		}
		t.Fatal(err)
	}
}

// eventually polls check until it returns true, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		if check() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-time.After(delay)
	}
}

func adminGet(t *testing.T, p *Process, path string) (int, string) {
	t.Helper()
	status, body, err := p.admin(t.Context(), &http.Client{Timeout: time.Second}, path)
	if err != nil {
		return 0, err.Error()
	}
	return status, body
}

// With no xDS server, Envoy starts and serves its admin API, but it is not ready: the static
// listeners take their routes over RDS/ADS, and Envoy's init manager waits for the first CDS and
// RDS answers (up to their 15 s initial fetch timeout each) before it goes LIVE. So this test
// checks the process and admin API, not /ready; the next one brings an ADS server.
func TestEnvoyStartsWithoutXDSAndStopsCleanly(t *testing.T) {
	bootstrap, params := testBootstrap(t, "")
	p := startEnvoy(t, t.Context(), bootstrap, params.Admin)

	var info string
	eventually(t, 20*time.Second, "the admin API's /server_info", func() bool {
		status, body := adminGet(t, p, "/server_info")
		info = body
		return status == http.StatusOK
	})
	if !strings.Contains(info, SupportedVersion) {
		t.Errorf("/server_info does not name Envoy %s: %s", SupportedVersion, info)
	}
	if status, body := adminGet(t, p, "/ready"); status == http.StatusOK {
		t.Errorf("/ready = %d %s without any xDS server; the bootstrap no longer waits for RDS", status, body)
	}

	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned before Envoy exited")
	}
	if err := p.Err(); err != nil {
		t.Errorf("Err after a clean Stop = %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("a second Stop = %v", err)
	}
}

// serveADS runs a minimal ADS server: no clusters, and the two route tables the bootstrap asks
// for, each answering every request with 200 "routed" straight from Envoy.
func serveADS(t *testing.T) string {
	t.Helper()
	cache := cachev3.NewSnapshotCache(true, cachev3.IDHash{}, zapAdapter(t))
	routeTable := func(name string) *routev3.RouteConfiguration {
		r := &routev3.Route{
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
				Status: 200, Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "routed"}},
			}},
		}
		if name == envoynames.RouteEdge {
			// As vmcp's virtual server routes: ext_proc sees the response headers here.
			override, err := anypb.New(&extprocfilterv3.ExtProcPerRoute{Override: &extprocfilterv3.ExtProcPerRoute_Overrides{
				Overrides: &extprocfilterv3.ExtProcOverrides{ProcessingMode: xds.EdgeProcessingMode()},
			}})
			if err != nil {
				t.Fatal(err)
			}
			r.TypedPerFilterConfig = map[string]*anypb.Any{envoynames.FilterExtProc: override}
		}
		return &routev3.RouteConfiguration{Name: name, VirtualHosts: []*routev3.VirtualHost{{
			Name: name, Domains: []string{"*"}, Routes: []*routev3.Route{r},
		}}}
	}
	snap, err := cachev3.NewSnapshot("1", map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType: {},
		resourcev3.RouteType:   {routeTable(envoynames.RouteEdge), routeTable(envoynames.RouteEgress)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cache.SetSnapshot(t.Context(), NodeID, snap); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, serverv3.NewServer(t.Context(), cache, nil))
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	return l.Addr().String()
}

func zapAdapter(t *testing.T) *zap.SugaredLogger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Sugar()
}

func TestWaitReadyOnceXDSAnswers(t *testing.T) {
	bootstrap, params := testBootstrap(t, serveADS(t))
	p := startEnvoy(t, t.Context(), bootstrap, params.Admin)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // well below the 15 s fetch timeout
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// Both listeners are bound and answer (fail-closed answers: authz and extproc are not
	// running here; TestEnvoyWithTheSideServices covers that).
	for _, addr := range []string{params.Edge, params.Egress} {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Server") != "envoy" {
			t.Errorf("%s: answered by %q", addr, resp.Header.Get("Server"))
		}
	}
}

func TestWaitReadyHonoursItsContext(t *testing.T) {
	bootstrap, params := testBootstrap(t, "") // no xDS: never ready within the deadline
	p := startEnvoy(t, t.Context(), bootstrap, params.Admin)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	err := p.WaitReady(ctx)
	if err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("WaitReady = %v, want a not-ready error", err)
	}
}

func TestAnEnvoyThatExitsIsNoticed(t *testing.T) {
	_, params := testBootstrap(t, "")
	p := startEnvoy(t, t.Context(), filepath.Join(t.TempDir(), "missing.yaml"), params.Admin)
	err := p.WaitReady(t.Context())
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("WaitReady = %v, want an exited error", err)
	}
	<-p.Done()
	if p.Err() == nil || !strings.Contains(p.Err().Error(), "unexpectedly") {
		t.Errorf("Err = %v, want an unexpected-exit error", p.Err())
	}
}

func TestCancellingTheContextStopsEnvoy(t *testing.T) {
	bootstrap, params := testBootstrap(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	p := startEnvoy(t, ctx, bootstrap, params.Admin)
	eventually(t, 20*time.Second, "the admin API", func() bool {
		status, _ := adminGet(t, p, "/server_info")
		return status == http.StatusOK
	})
	cancel()
	select {
	case <-p.Done():
	case <-time.After(StopTimeout + 5*time.Second):
		t.Fatal("Envoy still runs after its context ended")
	}
	if err := p.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
}

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/envoy"
)

// frontEnvoy is examples/replicas/front-envoy.yaml, run by a real Envoy in front of replicas,
// with the example's addresses replaced by the test's.
type frontEnvoy struct {
	addr, admin string
}

func startFrontEnvoy(t *testing.T, replicas ...*system) *frontEnvoy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "examples", "replicas", "front-envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw)
	f := &frontEnvoy{addr: harness.FreeAddr(t), admin: harness.FreeAddr(t)}
	_, port, _ := strings.Cut(f.addr, ":")
	_, adminPort, _ := strings.Cut(f.admin, ":")
	replace := func(old, new string) {
		t.Helper()
		if !strings.Contains(cfg, old) {
			t.Fatalf("examples/replicas/front-envoy.yaml no longer has %q", old)
		}
		cfg = strings.Replace(cfg, old, new, 1)
	}
	replace("{address: 0.0.0.0, port_value: 10000}", "{address: 127.0.0.1, port_value: "+port+"}")
	replace("{address: 127.0.0.1, port_value: 9901}", "{address: 127.0.0.1, port_value: "+adminPort+"}")
	for i, r := range replicas {
		edge, _ := url.Parse(r.edge)
		_, httpPort, _ := strings.Cut(r.addrs["http"], ":")
		name := "vmcp-" + string(rune('a'+i))
		replace("{address: "+name+", port_value: 8080}", "{address: 127.0.0.1, port_value: "+edge.Port()+"}")
		replace("health_check_config: {port_value: 18003}", "health_check_config: {port_value: "+httpPort+"}")
	}
	path := filepath.Join(t.TempDir(), "front-envoy.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := envoy.Find()
	if err != nil {
		t.Fatal(err)
	}
	harness.Start(t, "front envoy", nil, bin, envoy.Args(path)...)
	harness.WaitHTTP(t, "http://"+f.admin+"/ready", http.StatusOK)
	return f
}

// hostStats reads a per-host counter of the front's replica cluster from its admin API.
func (f *frontEnvoy) hostStats(t *testing.T, stat string) map[string]int {
	t.Helper()
	resp, err := http.Get("http://" + f.admin + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "::")
		if len(parts) == 4 && parts[0] == "vmcp_replicas" && parts[2] == stat {
			n, _ := strconv.Atoi(parts[3])
			out[parts[1]] = n
		}
	}
	return out
}

// Two replicas behind the shipped front Envoy: one is killed (SIGKILL, its Envoy with it) while a
// client works through the front, and the client's calls — in the same MCP session — keep
// succeeding on the other.
func TestAFrontEnvoyHidesTheDeathOfAReplica(t *testing.T) {
	shared := postgresStore(t)
	a := startSystem(t, func(c *harness.Config) { c.Store = shared })
	b := startReplica(t, a)
	front := startFrontEnvoy(t, a, b)
	harness.Eventually(t, 30*time.Second, func() error {
		if n := strings.Count(front.clusters(t), "::health_flags::healthy"); n != 2 {
			return fmt.Errorf("%d of 2 replicas healthy at the front", n)
		}
		return nil
	})

	cs := connect(t, "http://"+front.addr+"/v/demo/mcp", a.token("mo", "demo"))
	defer cs.Close()
	args := func(int64) map[string]any { return map[string]any{"city": "Tromsø", "days": 1} }
	before := startCaller(t, cs, "weather__get_forecast", args)
	before.waitCalls(t, 10)
	before.end()
	if n := before.failed.Load(); n != 0 {
		t.Fatalf("%d calls failed with both replicas up: %v", n, before.firstErr)
	}
	served := front.hostStats(t, "rq_success")
	bEdge, _ := url.Parse(b.edge)
	if served[bEdge.Host] == 0 || len(served) != 2 {
		t.Fatalf("requests answered per replica: %v; want both to serve", served)
	}

	if err := syscall.Kill(b.vmcp.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.vmcp.Done()
	after := startCaller(t, cs, "weather__get_forecast", args)
	after.waitAttempts(t, 60) // three seconds: the health check has not noticed for the first two
	after.end()
	if n := after.failed.Load(); n != 0 {
		t.Errorf("%d of %d calls failed after a replica died: %v", n, n+after.ok.Load(), after.firstErr)
	}
	t.Logf("per replica before the kill: %v; after: %v", served, front.hostStats(t, "rq_success"))
}

func (f *frontEnvoy) clusters(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + f.admin + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

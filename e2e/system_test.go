// Package e2e drives the whole of vmcp — the vmcp binary, a real Envoy 1.40 and real MCP
// connectors — with real MCP clients, as a user would.
//
// A test starts vmcp with startSystem, which serves the notes and weather examples on virtual
// server demo; edits given to it change the configuration (a harness.Config) before the start.
// Later changes go to s.config and are written with s.writeConfig, inside s.reload to wait until
// vmcp has applied them; writeConfig's arguments are virtual servers added for that write only.
// startReplica starts a second replica of the same deployment. The helpers several tests share
// (MCP clients, raw JSON-RPC, OAuth sign-in, the npm and Python installs) are in helpers_test.go.
// A long story is told in named steps: harness.Step for a step the later ones need, t.Run for
// an independent check.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/examples/connectors/notes"
	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

const notesToken = "e2e-notes-credential-5d1c"

// system is one running vmcp: the binary in dev mode (gateway + Envoy child) and the example
// connectors served in this test process so the test can see what reaches them.
type system struct {
	t          *testing.T
	dir        string
	configPath string
	edge       string
	// addrs are the addresses of vmcp's and Envoy's listeners (edge, egress, admin, xds, authz,
	// extproc, http) and of the connectors this test serves, by name.
	addrs map[string]string
	// config is what vmcp runs with, but for the virtual servers the last writeConfig added. A
	// test changes it, then writes it with writeConfig.
	config     harness.Config
	vmcp       *harness.Proc
	notesSeen  *recorder
	weatherSee *recorder
	adminToken string // for auditTrail, made on first use
}

// recorder keeps the headers of every request a connector received.
type recorder struct {
	mu   sync.Mutex
	seen []http.Header
	// hook, when set, sees each request too.
	hook func(*http.Request)
}

func (r *recorder) observe(req *http.Request) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Clone())
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		hook(req)
	}
}

func (r *recorder) all() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.seen...)
}

// notesCredential is how vmcp authenticates to the notes example: the token in the file
// startSystem writes beside the configuration.
const notesCredential = `{type: bearer, token: "${file:notes-token}"}`

// testConfig is the configuration every system starts from: the notes and weather examples, both
// on virtual server demo. The addresses are filled in at start.
func testConfig(dataDir, notesAddr, weatherAddr string) harness.Config {
	return harness.Config{
		Server: harness.Server{DataDir: dataDir, LogLevel: "debug"},
		Auth:   harness.Auth{Leeway: 30 * time.Second},
		Connectors: []harness.Connector{
			{Name: "notes", URL: "http://" + notesAddr + "/mcp", Timeout: 5 * time.Second, Credential: notesCredential},
			{Name: "weather", URL: "http://" + weatherAddr + "/mcp", Timeout: 5 * time.Second},
		},
		VirtualServers: []harness.VirtualServer{{Name: "demo", Connectors: []string{"notes", "weather"}}},
	}
}

// devUsers is alice (password "alice", group eng), who signs in at vmcp's dev login.
var devUsers = []harness.DevUser{
	{Username: "alice", PasswordHash: "$2a$10$FuRmRGYQVq7NrSJElZbOkuLiDStaaVh.v0x9Tlpgc4MheEax.DjM2", Email: "alice@example.com", Groups: []string{"eng"}},
}

// withDevUsers is a configuration edit that lets devUsers sign in.
func withDevUsers(c *harness.Config) { c.Auth.DevUsers = devUsers }

// startSystem starts vmcp on the test configuration, changed first by each of edits, and serves
// the notes and weather examples for it.
func startSystem(t *testing.T, edits ...func(*harness.Config)) *system {
	t.Helper()
	s := newSystem(t)
	s.serveConnector("notes", notes.New(notes.Options{Token: notesToken, Observe: s.notesSeen.observe}))
	s.serveConnector("weather", weather.New(weather.Options{Observe: s.weatherSee.observe}))
	s.config = testConfig(filepath.Join(s.dir, "data"), s.addrs["notes"], s.addrs["weather"])
	for _, edit := range edits {
		edit(&s.config)
	}
	s.start()
	return s
}

// startReplica starts another replica of the deployment first belongs to: its configuration
// (connectors, virtual servers, store, sign-in) and public URL, since clients reach both through
// one load balancer, with listeners and a data directory of its own.
func startReplica(t *testing.T, first *system) *system {
	t.Helper()
	s := newSystem(t)
	s.notesSeen, s.weatherSee = first.notesSeen, first.weatherSee
	s.config = first.config
	s.config.Connectors = slices.Clone(first.config.Connectors)
	s.config.VirtualServers = slices.Clone(first.config.VirtualServers)
	s.config.Server.DataDir = filepath.Join(s.dir, "data")
	s.config.Server.PublicURL = first.edge
	s.start()
	return s
}

func newSystem(t *testing.T) *system {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes-token"), []byte(notesToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &system{t: t, dir: dir, configPath: filepath.Join(dir, "vmcp.yaml"), addrs: map[string]string{},
		notesSeen: &recorder{}, weatherSee: &recorder{}}
}

func (s *system) start() {
	t := s.t
	t.Helper()
	// vmcp and Envoy bind their own ports, picked free just before; another process on this
	// machine can take one in between. That shows as Envoy's "Address already in use" or vmcp's
	// own "address already in use" (Go's), and only then is the start retried on fresh ports.
	for attempt := 1; ; attempt++ {
		for _, name := range []string{"edge", "egress", "admin", "xds", "authz", "extproc", "http"} {
			s.addrs[name] = harness.FreeAddr(t)
		}
		s.config.Server.Listen = harness.Listen{XDS: s.addrs["xds"], Authz: s.addrs["authz"], ExtProc: s.addrs["extproc"], HTTP: s.addrs["http"]}
		s.config.Server.Envoy = harness.Envoy{Edge: s.addrs["edge"], Egress: s.addrs["egress"], Admin: s.addrs["admin"]}
		s.edge = "http://" + s.addrs["edge"]
		s.writeConfig()
		err := s.run("vmcp dev")
		if err == nil {
			return
		}
		if attempt < 3 && strings.Contains(strings.ToLower(s.vmcp.Output()), "address already in use") {
			s.vmcp.Stop()
			continue
		}
		t.Fatalf("vmcp did not become ready: %v", err)
	}
}

// run starts vmcp dev, under name in the test's log, on the configuration file and waits until
// it serves.
func (s *system) run(name string) error {
	s.t.Helper()
	s.vmcp = harness.Start(s.t, name, nil, harness.BuildVMCP(s.t), "dev", "-c", s.configPath, "--no-example-connectors")
	err := edgeclient.WaitChallenged(s.url("demo"), 60*time.Second, s.vmcp.Done())
	if errors.Is(err, edgeclient.ErrExited) {
		err = fmt.Errorf("vmcp %w: %v", err, s.vmcp.Err())
	}
	return err
}

// configYAML is s.config with the virtual servers extra added after its own, as YAML.
func (s *system) configYAML(extra ...harness.VirtualServer) string {
	c := s.config
	c.VirtualServers = slices.Concat(c.VirtualServers, extra)
	return c.YAML()
}

// writeConfig writes s.config, with the virtual servers extra added, to vmcp's configuration file.
// It does not wait for vmcp to apply it: reload does.
func (s *system) writeConfig(extra ...harness.VirtualServer) {
	s.t.Helper()
	// Write then rename, as editors do, so the watcher never sees half a file.
	if err := harness.WriteFile(s.configPath, s.configYAML(extra...)); err != nil {
		s.t.Fatal(err)
	}
}

// serveConnector serves h on a port it binds itself, so no other process can take it.
func (s *system) serveConnector(name string, h http.Handler) {
	s.t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatalf("%s connector: %v", name, err)
	}
	s.addrs[name] = lis.Addr().String()
	srv := &http.Server{Handler: h, ErrorLog: nil}
	go srv.Serve(lis)
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
}

// token runs `vmcp token` for user on virtual server vs, with extra flags (--groups, say).
func (s *system) token(user, vs string, flags ...string) string {
	s.t.Helper()
	args := append([]string{"token", "-c", s.configPath, "--user", user}, flags...)
	if vs != "" {
		args = append(args, "--vs", vs)
	}
	out, err := exec.Command(harness.BuildVMCP(s.t), args...).Output()
	if err != nil {
		s.t.Fatalf("vmcp token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func (s *system) url(vs string) string { return s.edge + "/v/" + vs + "/mcp" }

// reload runs edit, which changes the configuration file, and waits until vmcp has applied it.
func (s *system) reload(edit func()) {
	s.t.Helper()
	before := strings.Count(s.vmcp.Output(), "config reloaded")
	edit()
	harness.Eventually(s.t, 10*time.Second, func() error {
		if strings.Count(s.vmcp.Output(), "config reloaded") <= before {
			return fmt.Errorf("the edited configuration has not been applied yet")
		}
		return nil
	})
	// vmcp has published the configuration's routes and clusters; Envoy applies them a moment
	// later. Until it has, a new virtual server's path is still a 404 at the edge.
	version := lastSnapshotVersion(s.vmcp.Output())
	harness.Eventually(s.t, 10*time.Second, func() error {
		for _, stat := range []string{"cluster_manager.cds.version_text", "http.edge.rds.vmcp_edge.version_text"} {
			if got := envoyText(s.addrs["admin"], stat); got != version {
				return fmt.Errorf("Envoy's %s is %q, want vmcp's latest snapshot %q", stat, got, version)
			}
		}
		return nil
	})
}

// lastSnapshotVersion is the version of the last xDS snapshot vmcp logged publishing.
func lastSnapshotVersion(out string) string {
	const marker = `snapshot published	{"version": "`
	i := strings.LastIndex(out, marker)
	if i < 0 {
		return ""
	}
	v, _, _ := strings.Cut(out[i+len(marker):], `"`)
	return v
}

// envoyText reads one text stat (a version_text, say) from Envoy's admin /stats, or "".
func envoyText(admin, stat string) string {
	resp, err := http.Get("http://" + admin + "/stats?filter=^" + regexp.QuoteMeta(stat) + "$")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	_, v, _ := strings.Cut(strings.TrimSpace(string(body)), ": ")
	return strings.Trim(v, `"`)
}

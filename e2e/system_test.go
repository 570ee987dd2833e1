// Package e2e drives the whole of vmcp — the vmcp binary, a real Envoy 1.40 and real MCP
// connectors — with real MCP clients, as a user would.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	addrs      map[string]string
	vmcp       *harness.Proc
	notesSeen  *recorder
	weatherSee *recorder
	auth       string // extra YAML under auth:, kept across config rewrites
	top        string // extra top-level YAML (a store section, say)
	connectors string // extra entries under connectors:
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

// configYAML is the test configuration; auth is extra YAML under auth:, servers extra virtual
// servers.
func configYAML(addrs map[string]string, dataDir, auth, servers, top, connectors string) string {
	publicURL := addrs["public"]
	if publicURL == "" {
		publicURL = "http://" + addrs["edge"]
	}
	return fmt.Sprintf(top+`
auth:
  leeway: 30s
%[12]s
server:
  public_url: %[13]s
  data_dir: %[2]s
  log_level: debug
  listen: {xds: %[3]s, authz: %[4]s, extproc: %[5]s, http: %[6]s}
  envoy: {edge: %[1]s, egress: %[7]s, admin: %[8]s}
connectors:
  - name: notes
    url: http://%[9]s/mcp
    timeout: 5s
    credential: {type: bearer, token: "${file:notes-token}"}
  - name: weather
    url: http://%[10]s/mcp
    timeout: 5s
%[14]s
%[15]s
virtual_servers:
  - name: demo
    connectors: [notes, weather]
%[11]s`, addrs["edge"], dataDir, addrs["xds"], addrs["authz"], addrs["extproc"], addrs["http"],
		addrs["egress"], addrs["admin"], addrs["notes"], addrs["weather"], servers, auth, publicURL, addrs["weather-credential"], connectors)
}

func startSystem(t *testing.T) *system { t.Helper(); return startSystemWith(t, "") }

// startSystemWith starts vmcp with extra YAML under auth: from the first configuration on.
func startSystemWith(t *testing.T, auth string) *system {
	t.Helper()
	return startSystemOpts(t, systemOpts{auth: auth})
}

// systemOpts vary a system: extra configuration, and for a second replica the first one's
// connectors and public URL.
type systemOpts struct {
	auth, top string
	// connectors are extra entries under connectors:, for connectors the test started.
	connectors string
	replicaOf  *system
}

func startSystemOpts(t *testing.T, o systemOpts) *system {
	t.Helper()
	s := &system{t: t, auth: o.auth, top: o.top, connectors: o.connectors, dir: t.TempDir(), addrs: map[string]string{}, notesSeen: &recorder{}, weatherSee: &recorder{}}
	if r := o.replicaOf; r != nil {
		// Another replica of the same deployment: the same connectors, and the same public URL
		// (the audience of its tokens) as clients would reach through one load balancer.
		s.addrs["notes"], s.addrs["weather"], s.addrs["public"] = r.addrs["notes"], r.addrs["weather"], r.edge
		s.notesSeen, s.weatherSee = r.notesSeen, r.weatherSee
	} else {
		s.serveConnector("notes", notes.New(notes.Options{Token: notesToken, Observe: s.notesSeen.observe}))
		s.serveConnector("weather", weather.New(weather.Options{Observe: s.weatherSee.observe}))
	}
	if err := os.WriteFile(filepath.Join(s.dir, "notes-token"), []byte(notesToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.configPath = filepath.Join(s.dir, "vmcp.yaml")
	// vmcp and Envoy bind their own ports, picked free just before; another process on this
	// machine can take one in between. That shows as Envoy's "Address already in use", and only
	// then is the start retried on fresh ports.
	for attempt := 1; ; attempt++ {
		for _, name := range []string{"edge", "egress", "admin", "xds", "authz", "extproc", "http"} {
			s.addrs[name] = harness.FreeAddr(t)
		}
		s.edge = "http://" + s.addrs["edge"]
		s.writeConfig("")
		s.vmcp = harness.Start(t, "vmcp dev", nil, harness.BuildVMCP(t), "dev", "-c", s.configPath, "--no-example-connectors")
		err := edgeclient.WaitChallenged(s.url("demo"), 60*time.Second, s.vmcp.Done())
		if errors.Is(err, edgeclient.ErrExited) {
			err = fmt.Errorf("vmcp %w: %v", err, s.vmcp.Err())
		}
		if err == nil {
			return s
		}
		if attempt < 3 && strings.Contains(s.vmcp.Output(), "Address already in use") {
			s.vmcp.Stop()
			continue
		}
		t.Fatalf("vmcp did not become ready: %v", err)
	}
}

func (s *system) writeConfig(servers string) { s.writeConfigAuth(s.auth, servers) }

func (s *system) writeConfigAuth(auth, servers string) {
	s.t.Helper()
	data := configYAML(s.addrs, filepath.Join(s.dir, "data"), auth, servers, s.top, s.connectors)
	// Write then rename, as editors do, so the watcher never sees half a file.
	tmp := s.configPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, s.configPath); err != nil {
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
}

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
	"github.com/vmcp-dev/vmcp/internal/gateway"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// system is vmcp (`vmcp dev`, with Envoy as its child) started for the load run, over connectors
// served by this process.
type system struct {
	dir     string
	config  string
	http    string // vmcp's own HTTP listener (metrics)
	edge    string // http://host:port of Envoy's edge listener
	admin   string // host:port of Envoy's admin API
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// listen binds a loopback port for a server this process runs; the caller serves on it.
func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// serve serves h on a fresh loopback port and returns its address.
func serve(h http.Handler) (string, error) {
	ln, err := listen()
	if err != nil {
		return "", err
	}
	go (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	return ln.Addr().String(), nil
}

// freeAddr picks a free loopback port for vmcp or Envoy to bind. Another process can take it in
// between; startSystem then fails with Envoy's "Address already in use" and says so.
func freeAddr() (string, error) {
	ln, err := listen()
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startSystem writes a configuration with virtual server "load" (the weather connector at
// weatherAddr) and "wide" (the connectors in wide, name → address), starts vmcp dev and waits
// until Envoy answers on the edge with vmcp's challenge.
func startSystem(vmcpBin, weatherAddr string, wide map[string]string, wideNames []string, otlpEndpoint string) (*system, error) {
	dir, err := os.MkdirTemp("", "vmcp-load-")
	if err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for _, n := range []string{"edge", "egress", "admin", "xds", "authz", "extproc", "http"} {
		if addrs[n], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `server:
  public_url: http://%s
  pprof: true
  data_dir: %s
  log_level: warn
  listen: {xds: %s, authz: %s, extproc: %s, http: %s}
  envoy: {edge: %s, egress: %s, admin: %s}
connectors:
  - {name: weather, url: "http://%s/mcp", timeout: 10s}
`, addrs["edge"], filepath.Join(dir, "data"), addrs["xds"], addrs["authz"], addrs["extproc"], addrs["http"],
		addrs["edge"], addrs["egress"], addrs["admin"], weatherAddr)
	for _, n := range wideNames {
		fmt.Fprintf(&b, "  - {name: %s, url: \"http://%s/mcp\", timeout: 10s}\n", n, wide[n])
	}
	// Prefixes always on: authz places a tools/call from its name alone (the route hint).
	fmt.Fprintf(&b, "virtual_servers:\n  - {name: load, connectors: [weather], prefix: {mode: always}}\n  - {name: wide, connectors: [%s]}\n", strings.Join(wideNames, ", "))
	s := &system{dir: dir, config: filepath.Join(dir, "vmcp.yaml"), edge: "http://" + addrs["edge"], http: addrs["http"], admin: addrs["admin"], logPath: filepath.Join(dir, "vmcp.log"), exited: make(chan struct{})}
	if err := os.WriteFile(s.config, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := []string{"dev", "-c", s.config, "--no-example-connectors"}
	if otlpEndpoint != "" {
		args = append(args, "--otlp-endpoint", otlpEndpoint)
	}
	s.cmd = exec.Command(vmcpBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Its own process group, so that stop ends Envoy (vmcp's child) too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", vmcpBin, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	if err := edgeclient.WaitChallenged(s.url("load"), 90*time.Second, s.exited); err != nil {
		if errors.Is(err, edgeclient.ErrExited) {
			err = fmt.Errorf("vmcp %w: %v", err, s.cmd.ProcessState)
		}
		s.stop()
		return nil, fmt.Errorf("%w\n---- vmcp output ----\n%s", err, s.output())
	}
	return s, nil
}

func (s *system) output() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// stop ends vmcp and Envoy (SIGTERM to the group, SIGKILL after 10 s) and removes the files.
func (s *system) stop() {
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // Envoy, should it have outlived vmcp
	os.RemoveAll(s.dir)
}

// rssKiB reads the resident set size of vmcp itself (not Envoy) from /proc.
func (s *system) rssKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTimes is the processor time used so far by vmcp itself and by its children (Envoy), from
// /proc: unlike latencies, other work on the machine does not inflate it. A child is listed under
// the thread that started it, so every thread's children count.
func (s *system) cpuTimes() (vmcp, children time.Duration, err error) {
	pid := strconv.Itoa(s.cmd.Process.Pid)
	if vmcp, err = procCPU(pid); err != nil {
		return 0, 0, err
	}
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return 0, 0, err
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/children")
		if err != nil {
			continue // the thread ended
		}
		for _, child := range strings.Fields(string(b)) {
			d, err := procCPU(child)
			if err != nil {
				return 0, 0, err
			}
			children += d
		}
	}
	return vmcp, children, nil
}

// procCPU is a process's user and system time from /proc/PID/stat.
func procCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: too few fields", pid)
	}
	var total time.Duration
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/stat: %w", pid, err)
		}
		total += time.Duration(n) * clockTick
	}
	return total, nil
}

// selfCPU is this process's processor time: the MCP clients and the connectors it serves.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapInuse reads vmcp's live Go heap: a collection first (through server.pprof), so that
// garbage the last phase left does not count, then heap in use from its Prometheus metrics.
// Unlike the RSS it leaves out memory the collector has freed but not returned yet.
func (s *system) heapInuse() (int64, error) {
	gc, err := http.Get("http://" + s.http + "/debug/pprof/heap?gc=1")
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, gc.Body)
	gc.Body.Close()
	resp, err := http.Get("http://" + s.http + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, errors.New("no go_memstats_heap_inuse_bytes in vmcp's metrics")
}

// url is the edge URL of a virtual server.
func (s *system) url(vs string) string { return s.edge + "/v/" + vs + "/mcp" }

// minter mints access tokens the way `vmcp token` does, from the signing keys vmcp keeps in its
// store, so that thousands of distinct users cost no process starts.
type minter struct {
	m   *tokens.Minter
	cfg *config.Config
	db  store.Store
}

func (s *system) minter(ctx context.Context) (*minter, error) {
	cfg, err := config.LoadFile(s.config)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keys, err := tokens.LoadKeys(ctx, db, cfg.Auth.KeyRotation, gateway.KeyRetention(cfg))
	if err != nil {
		db.Close()
		return nil, err
	}
	return &minter{m: tokens.NewMinter(keys, cfg.Auth.Issuer, time.Hour), cfg: cfg, db: db}, nil
}

// token is an access token for user on virtual server vs.
func (m *minter) token(user, vs string) (string, error) {
	for i := range m.cfg.VirtualServers {
		if v := &m.cfg.VirtualServers[i]; v.Name == vs {
			return m.m.Mint(tokens.Claims{Subject: user, Email: user + "@example.com", Groups: []string{"eng"}, ClientID: "vmcp-load", Audience: authz.ResourceURL(m.cfg, v)})
		}
	}
	return "", fmt.Errorf("no virtual server %q", vs)
}

// profileSeconds is how long profileCalls samples vmcp.
const profileSeconds = 10

// profileCalls writes a CPU profile of vmcp (server.pprof, on its own listener) taken while
// clients call tool through it, to path.
func profileCalls(ctx context.Context, s *system, path, url, token, tool string, args map[string]any, clients int) error {
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan error, 1)
	go func() {
		_, err := callLoad(loadCtx, url, token, tool, args, clients, math.MaxInt32, 10)
		loadDone <- err
	}()
	// This process (the clients and connectors) is profiled over the same window.
	self, err := os.Create(path + ".load")
	if err != nil {
		return err
	}
	defer self.Close()
	if err := pprof.StartCPUProfile(self); err != nil {
		return err
	}
	err = fetchProfile(s, fmt.Sprintf("profile?seconds=%d", profileSeconds), path)
	pprof.StopCPUProfile()
	stopLoad()
	if lerr := <-loadDone; lerr != nil && !errors.Is(lerr, context.Canceled) {
		return lerr
	}
	return err
}

// fetchProfile writes vmcp's /debug/pprof/NAME (server.pprof) to path.
func fetchProfile(s *system, name, path string) error {
	resp, err := http.Get("http://" + s.http + "/debug/pprof/" + name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("vmcp's /debug/pprof/%s answered %s", name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// roundTrips reads Envoy's counters of the edge listener's ext_authz checks and ext_proc
// messages: what each call costs in round trips to vmcp.
func (s *system) roundTrips() (checks, messages int, err error) {
	resp, err := http.Get("http://" + s.admin + "/stats?filter=^http\\.edge\\.ext_")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ": ")
		n, _ := strconv.Atoi(value)
		switch name {
		case "http.edge.ext_authz.ok", "http.edge.ext_authz.denied", "http.edge.ext_authz.error":
			checks += n
		case "http.edge.ext_proc.stream_msgs_sent":
			messages += n
		}
	}
	return checks, messages, sc.Err()
}

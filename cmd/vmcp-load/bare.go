package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vmcp-dev/vmcp/envoy"
)

// bareBootstrap is an Envoy that only proxies: one listener, one route, one cluster, no filter
// but the router. What a call costs through it is the floor every Envoy-based gateway pays,
// against which vmcp's own share (ext_authz, ext_proc, the services behind them) shows.
const bareBootstrap = `admin:
  address: {socket_address: {address: 127.0.0.1, port_value: %d}}
static_resources:
  listeners:
  - name: bare
    address: {socket_address: {address: 127.0.0.1, port_value: %d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bare
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: connector, timeout: 10s}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: connector
    type: STATIC
    load_assignment:
      cluster_name: connector
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}
`

// bareEnvoy starts a bare proxy to the connector at target (127.0.0.1:port); the Envoy binary is
// the one vmcp would use (ENVOY_BIN, or as envoy.Find looks).
func bareEnvoy(ctx context.Context, target string) (addr string, p *envoy.Process, err error) {
	bin, err := envoy.Find()
	if err != nil {
		return "", nil, err
	}
	_, port, err := splitPort(target)
	if err != nil {
		return "", nil, err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	listenAddr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, adminPort, _ := splitPort(adminAddr)
	_, listenPort, _ := splitPort(listenAddr)
	dir, err := os.MkdirTemp("", "vmcp-load-bare-")
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "bootstrap.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, bareBootstrap, adminPort, listenPort, port), 0o600); err != nil {
		return "", nil, err
	}
	p, err = envoy.Start(ctx, bin, path, adminAddr, nil)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	go func() { <-p.Done(); os.RemoveAll(dir) }()
	if err := p.WaitReady(ctx); err != nil {
		p.Stop()
		return "", nil, fmt.Errorf("bare Envoy: %w", err)
	}
	return listenAddr, p, nil
}

func splitPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(port)
	return host, n, err
}

// bareRun is what the calls through a bare Envoy measured.
type bareRun struct {
	seq, thr          run
	calls             int           // in the throughput phase, warm-up calls included
	envoyCPU, selfCPU time.Duration // spent in the throughput phase
}

// measureBare times tools/call through a bare Envoy in front of the weather connector at target:
// seqCalls from one client, then calls from clients concurrent ones.
func measureBare(ctx context.Context, target string, args map[string]any, clients, calls, seqCalls int) (bareRun, error) {
	var r bareRun
	addr, p, err := bareEnvoy(ctx, target)
	if err != nil {
		return r, err
	}
	defer p.Stop()
	url := "http://" + addr + "/mcp"
	if r.seq, err = callLoad(ctx, url, "", "convert_temperature", args, 1, seqCalls, 50); err != nil {
		return r, fmt.Errorf("latency, bare Envoy: %w", err)
	}
	pid := strconv.Itoa(p.Pid())
	envoy0, err := procCPU(pid)
	if err != nil {
		return r, err
	}
	self0 := selfCPU()
	if r.thr, err = callLoad(ctx, url, "", "convert_temperature", args, clients, calls, 10); err != nil {
		return r, fmt.Errorf("throughput, bare Envoy: %w", err)
	}
	envoy1, err := procCPU(pid)
	if err != nil {
		return r, err
	}
	r.envoyCPU, r.selfCPU = envoy1-envoy0, selfCPU()-self0
	r.calls = r.thr.calls + r.thr.errors + 10*clients
	return r, nil
}

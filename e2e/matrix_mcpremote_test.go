package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpRemote returns a connect function that starts mcp-remote (e2e/ts2, pinned) as a stdio
// bridge to the matrix virtual server and drives it with the go-sdk's CommandTransport, as a
// desktop client that only speaks stdio would. env is added to mcp-remote's environment; args
// are its extra flags.
func mcpRemote(t *testing.T, m *matrixServer, env []string, args ...string) goConnect {
	t.Helper()
	dir := ts2Dir(t)
	unlock, err := lockTSDeps(dir, syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	// mcp-remote keeps its registrations and tokens here, one directory per test.
	config := filepath.Join(t.TempDir(), "mcp-auth")
	var logs []*strings.Builder
	t.Cleanup(func() {
		if t.Failed() {
			for i, b := range logs {
				t.Logf("\n==== mcp-remote %d stderr ====\n%s==== end of mcp-remote %d stderr ====", i+1, tail(b.String(), 6000), i+1)
			}
		}
	})
	return func(ctx context.Context, opts *mcp.ClientOptions) (*mcp.ClientSession, error) {
		cmd := exec.Command("node", append([]string{filepath.Join(dir, "node_modules", "mcp-remote", "dist", "proxy.js"), m.url(matrixVS)}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "MCP_REMOTE_CONFIG_DIR="+config), env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		logs = append(logs, &stderr)
		client := mcp.NewClient(&mcp.Implementation{Name: "vmcp-matrix-stdio", Version: "1"}, opts)
		return client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	}
}

// mcp-remote 0.15.1 as a stdio bridge with a bearer token in its --header flag (the token
// itself in an environment variable mcp-remote expands, so it is on no command line).
func TestMCPRemoteBridgesAStdioClientToVMCPWithABearerToken(t *testing.T) {
	ts2Dir(t)
	m := startMatrix(t, "")
	connect := mcpRemote(t, m, []string{"VMCP_AUTHORIZATION=Bearer " + m.token("alice", matrixVS)}, "--header", "Authorization:${VMCP_AUTHORIZATION}")
	res := runGoClient(t, m, "mcp-remote", connect)
	assertMatrixRow(t, res, rowWant{client: "mcp-remote", listChanged: true})
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// mcpRemote returns a connect function that starts mcp-remote (e2e/ts2, pinned) as a stdio
// bridge to the matrix virtual server and drives it with the go-sdk's CommandTransport, as a
// desktop client that only speaks stdio would. env is added to mcp-remote's environment; args
// are its extra flags.
func mcpRemote(t *testing.T, m *matrixServer, env []string, args ...string) goConnect {
	t.Helper()
	dir := npmDir(t, "ts2")
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
	npmDir(t, "ts2")
	m := startMatrix(t)
	connect := mcpRemote(t, m, []string{"VMCP_AUTHORIZATION=Bearer " + m.token("alice", matrixVS)}, "--header", "Authorization:${VMCP_AUTHORIZATION}")
	res := runGoClient(t, m, "mcp-remote", connect)
	assertMatrixRow(t, res, rowWant{client: "mcp-remote", listChanged: true})
}

// mcp-remote 0.15.1 signing in with its own OAuth: it meets vmcp's 401, discovers the
// authorization server, registers its localhost callback, and opens the browser — here the
// scripted one (e2e/ts2/browser.mjs, run by xdg-open as $BROWSER), which signs in as a dev user,
// allows on the consent page and loads the callback. Access tokens live 8 s; the bridge must keep
// working past their expiry by refreshing (one sign-in, a second token issued), not by sending the
// user back to the browser.
func TestMCPRemoteSignsInWithItsOwnOAuthAndRefreshes(t *testing.T) {
	dir := npmDir(t, "ts2")
	m := startMatrix(t, withDevUsers, func(c *harness.Config) { c.Auth.TokenTTL = 8 * time.Second })
	browserLog := filepath.Join(t.TempDir(), "browser.log")
	t.Cleanup(func() {
		if b, err := os.ReadFile(browserLog); err == nil && t.Failed() {
			t.Logf("\n==== scripted browser ====\n%s==== end of scripted browser ====", b)
		}
	})
	env := []string{
		"BROWSER=" + filepath.Join(dir, "browser.mjs"),
		"VMCP_MATRIX_USER=alice", "VMCP_MATRIX_PASSWORD=alice", "VMCP_MATRIX_BROWSER_LOG=" + browserLog,
		// xdg-open picks $BROWSER only outside a desktop session.
		"DISPLAY=", "WAYLAND_DISPLAY=", "XDG_CURRENT_DESKTOP=", "DESKTOP_SESSION=",
	}
	connect := mcpRemote(t, m, env)
	res := runGoClient(t, m, "mcp-remote", connect)
	assertMatrixRow(t, res, rowWant{client: "mcp-remote", listChanged: true})

	t.Run("refreshes its token after it expires", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cs, err := connect(ctx, &mcp.ClientOptions{})
		if err != nil {
			t.Fatalf("connect through mcp-remote again: %v", err)
		}
		defer cs.Close()
		// vmcp accepts an access token until its expiry plus the 30 s leeway; whether the bridge
		// refreshes before or at the first 401, a call keeps working and a second token is
		// issued for the same single sign-in.
		harness.Eventually(t, 90*time.Second, func() error {
			r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "weather__get_forecast", Arguments: map[string]any{"city": "Oslo", "days": 1}})
			if err != nil {
				return err
			}
			if r.IsError || !strings.Contains(textOf(r.Content), "Oslo") {
				return fmt.Errorf("weather__get_forecast: %s", textOf(r.Content))
			}
			if n := strings.Count(m.vmcp.Output(), "oauth: tokens issued"); n < 2 {
				return fmt.Errorf("%d token issuance so far: no refresh yet", n)
			}
			return nil
		})
		if n := strings.Count(m.vmcp.Output(), "login: user signed in"); n != 1 {
			t.Errorf("the user signed in %d times; a refresh needs no second sign-in", n)
		}
	})
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// pyDeps installs e2e/py's pinned packages once per test binary.
var pyDeps struct {
	once sync.Once
	err  error
}

// pyClients returns e2e/py and the Python of its virtualenv (e2e/py/.venv), installed from
// requirements.txt with every hash checked when missing or older than the requirements (`make
// e2e-deps` does the same, under the same lock).
func pyClients(t *testing.T) (dir, python string) {
	t.Helper()
	dir = filepath.Join(harness.ModuleRoot(t), "e2e", "py")
	python = filepath.Join(dir, ".venv", "bin", "python")
	pyDeps.once.Do(func() { pyDeps.err = installPyDeps(dir) })
	if pyDeps.err != nil {
		t.Fatalf("%v\n(install the Python clients with `make e2e-deps`)", pyDeps.err)
	}
	return dir, python
}

// usePyClients is pyClients for a test that runs one of them: it also holds e2e/py's lock shared
// until the test ends, so that no install replaces the virtualenv under a running client.
func usePyClients(t *testing.T) (dir, python string) {
	t.Helper()
	dir, python = pyClients(t)
	unlock, err := harness.LockFile(filepath.Join(dir, "requirements.txt"), syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	return dir, python
}

func installPyDeps(dir string) error {
	unlock, err := harness.LockFile(filepath.Join(dir, "requirements.txt"), syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	reqs, err := os.Stat(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		return fmt.Errorf("e2e/py: %w", err)
	}
	stamp := filepath.Join(dir, ".venv", ".installed")
	if done, err := os.Stat(stamp); err == nil && !done.ModTime().Before(reqs.ModTime()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"python3", "-m", "venv", ".venv"},
		{".venv/bin/pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "--no-deps", "-r", "requirements.txt"},
	} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v in %s: %w\n%s", args, dir, err, out)
		}
	}
	return os.WriteFile(stamp, nil, 0o644)
}

// runPython runs one of e2e/py's client scripts with the virtualenv's Python.
func runPython(t *testing.T, m *matrixServer, script string, args ...string) matrixResult {
	t.Helper()
	dir, python := usePyClients(t)
	cmd := matrixCommand(t, dir, python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	return runMatrixClient(t, m, script, cmd)
}

// The official Python SDK (mcp 2.3.0) through vmcp: its default Client, which probes
// server/discover and speaks 2026-07-28, and the legacy 2025-11-25 handshake, each with a
// `vmcp token` bearer; then the default Client signing in with OAuth (dynamic registration,
// a scripted browser through vmcp's login and consent pages, PKCE) and refreshing its access
// token once it has expired.
func TestPythonSDKClientWorksThroughVMCP(t *testing.T) {
	pyClients(t) // before the system starts: a fresh install takes a while
	// Access tokens live 8 s so that the OAuth run sees one expire (leeway stays 30 s: vmcp
	// accepting an expired token a little longer does not change when the client refreshes).
	m := startMatrix(t, withDevUsers, func(c *harness.Config) { c.Auth.TokenTTL = 8 * time.Second })

	t.Run("default client (auto, 2026-07-28) with a bearer token", func(t *testing.T) {
		res := runPython(t, m, "mcp_client.py", m.url(matrixVS), "auto", "bearer", m.tokenFile(t, "alice"))
		assertMatrixRow(t, res, rowWant{client: "python-mcp", revision: revModern, listChanged: true})
	})
	t.Run("legacy client (2025-11-25) with a bearer token", func(t *testing.T) {
		res := runPython(t, m, "mcp_client.py", m.url(matrixVS), "legacy", "bearer", m.tokenFile(t, "alice"))
		assertMatrixRow(t, res, rowWant{client: "python-mcp", revision: revLegacy, listChanged: true})
	})
	t.Run("default client signing in with OAuth", func(t *testing.T) {
		res := runPython(t, m, "mcp_client.py", m.url(matrixVS), "auto", "oauth", "alice", "alice")
		assertMatrixRow(t, res, rowWant{client: "python-mcp", revision: revModern, listChanged: true, refresh: true})
	})
	// People type localhost, not 127.0.0.1: the same loopback server under another name must
	// sign in too (the protected resource metadata has to name the resource the client asked
	// for, or an RFC 8707 client refuses it).
	t.Run("legacy client signing in with OAuth at http://localhost", func(t *testing.T) {
		url := strings.Replace(m.url(matrixVS), "://127.0.0.1:", "://localhost:", 1)
		res := runPython(t, m, "mcp_client.py", url, "legacy", "oauth", "alice", "alice")
		assertMatrixRow(t, res, rowWant{client: "python-mcp", revision: revLegacy, listChanged: true, refresh: true})
	})
}

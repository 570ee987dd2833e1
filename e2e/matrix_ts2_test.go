package e2e

import (
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// ts2Deps installs e2e/ts2's pinned packages once per test binary.
var ts2Deps struct {
	once sync.Once
	err  error
}

// ts2Dir returns e2e/ts2 (the TypeScript SDK v2 client, mcp-remote and the MCP Inspector) with
// its node_modules installed from package-lock.json, as e2e/ts is.
func ts2Dir(t *testing.T) string {
	t.Helper()
	requireNode(t)
	dir := filepath.Join(harness.ModuleRoot(t), "e2e", "ts2")
	ts2Deps.once.Do(func() { ts2Deps.err = installTSDeps(dir) })
	if ts2Deps.err != nil {
		t.Fatalf("%v\n(install the matrix's Node clients with `make e2e-deps`)", ts2Deps.err)
	}
	return dir
}

// runTS2 runs one of e2e/ts2's scripts with node, holding the install lock shared.
func runTS2(t *testing.T, m *matrixServer, script string, args ...string) matrixResult {
	t.Helper()
	dir := ts2Dir(t)
	unlock, err := lockTSDeps(dir, syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	return runMatrixClient(t, m, script, matrixCommand(t, dir, "node", append([]string{script}, args...)...))
}

// The TypeScript SDK v2 (@modelcontextprotocol/client 2.4.0) through vmcp with a bearer token:
// versionNegotiation auto, which probes server/discover and speaks 2026-07-28, and the SDK's
// default, the legacy 2025-11-25 handshake.
func TestTypeScriptSDKv2ClientWorksThroughVMCP(t *testing.T) {
	ts2Dir(t) // before the system starts: a fresh npm ci takes a while
	m := startMatrix(t)
	t.Run("auto (2026-07-28)", func(t *testing.T) {
		res := runTS2(t, m, "sdk-client.mjs", m.url(matrixVS), "auto", m.tokenFile(t, "alice"))
		assertMatrixRow(t, res, rowWant{client: "ts-sdk-v2", revision: revModern, listChanged: true})
	})
	t.Run("legacy (2025-11-25)", func(t *testing.T) {
		res := runTS2(t, m, "sdk-client.mjs", m.url(matrixVS), "legacy", m.tokenFile(t, "alice"))
		assertMatrixRow(t, res, rowWant{client: "ts-sdk-v2", revision: revLegacy, listChanged: true})
	})
}

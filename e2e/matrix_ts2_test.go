package e2e

import (
	"syscall"
	"testing"
)

// runTS2 runs one of e2e/ts2's scripts with node, holding the install lock shared.
func runTS2(t *testing.T, m *matrixServer, script string, args ...string) matrixResult {
	t.Helper()
	dir := npmDir(t, "ts2")
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
	npmDir(t, "ts2") // before the system starts: a fresh npm ci takes a while
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

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// minNodeMajor is the oldest Node.js the TypeScript SDK client runs on (fetch, Headers and
// getSetCookie built in). The machines run Node 20.
const minNodeMajor = 18

// tsDeps installs e2e/ts's pinned packages once per test binary, as a fresh checkout needs.
var tsDeps struct {
	once sync.Once
	err  error
}

// tsClientDir returns e2e/ts with its node_modules installed from package-lock.json: `npm ci`
// runs when node_modules is missing or older than the lock file (`make e2e-deps` does the same).
func tsClientDir(t *testing.T) string {
	t.Helper()
	requireNode(t)
	dir := filepath.Join(harness.ModuleRoot(t), "e2e", "ts")
	tsDeps.once.Do(func() { tsDeps.err = installTSDeps(dir) })
	if tsDeps.err != nil {
		t.Fatalf("%v\n(install the TypeScript client's packages with `make e2e-deps`)", tsDeps.err)
	}
	return dir
}

func installTSDeps(dir string) error {
	unlock, err := lockTSDeps(dir, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("e2e/ts: %w", err)
	}
	// npm writes node_modules/.package-lock.json last, once an install is complete.
	if installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return nil
}

// lockTSDeps locks the package-lock.json of dir (e2e/ts, say; see harness.LockFile): two `npm ci`
// in one directory corrupt each other's install, as does an install under a running client.
func lockTSDeps(dir string, how int) (unlock func(), err error) {
	return harness.LockFile(filepath.Join(dir, "package-lock.json"), how)
}

// requireNode fails the test unless a Node.js new enough for the SDK client is on PATH.
func requireNode(t *testing.T) {
	t.Helper()
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Fatalf("the TypeScript SDK client needs Node.js >= %d on PATH: node --version: %v", minNodeMajor, err)
	}
	version := strings.TrimSpace(string(out))
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	if err != nil || major < minNodeMajor {
		t.Fatalf("the TypeScript SDK client needs Node.js >= %d, node --version says %q", minNodeMajor, version)
	}
}

// tsClientResult is the JSON line e2e/ts/oauth-client.mjs prints.
type tsClientResult struct {
	Tools               []string        `json:"tools"`
	AddNote             json.RawMessage `json:"addNote"`
	ForecastOK          bool            `json:"forecastOk"`
	Refreshed           bool            `json:"refreshed"`
	RefreshTokenRotated bool            `json:"refreshTokenRotated"`
	UsedRefreshedToken  bool            `json:"usedRefreshedToken"`
	AfterRefreshTools   int             `json:"afterRefreshTools"`
	PagesSeen           []string        `json:"pagesSeen"`
	FormsFilled         []string        `json:"formsFilled"`
	SignIns             int             `json:"signIns"`
}

// runTSClient runs the TypeScript SDK client against the virtual server at vsURL. Its stderr (the
// reason and a trace of every HTTP exchange, never a token) is shown only if the test fails.
func runTSClient(t *testing.T, vsURL, username, password string) tsClientResult {
	t.Helper()
	dir := tsClientDir(t)
	unlock, err := lockTSDeps(dir, syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", "oauth-client.mjs", vsURL, username, password)
	cmd.Dir = dir
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	t.Cleanup(func() {
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("\n==== oauth-client.mjs stderr ====\n%s==== end of oauth-client.mjs stderr ====", stderr.String())
		}
	})
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("the TypeScript SDK client did not finish within 90s")
		}
		t.Fatalf("the TypeScript SDK client failed (%v): %s", err, firstLine(stderr.String()))
	}
	var res tsClientResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("the TypeScript SDK client printed %q, not its JSON result: %v", stdout.String(), err)
	}
	return res
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// The official TypeScript SDK (@modelcontextprotocol/sdk, pinned in e2e/ts/package.json) knows
// only the virtual server's URL: from the 401 it discovers vmcp's authorization server, registers,
// sends the user to sign in at a real OpenID provider (zitadel/oidc's example OP) and through
// vmcp's consent page, redeems the code, calls tools of both connectors, refreshes its token and
// keeps working on the refreshed one.
func TestTypeScriptSDKClientSignsInThroughVMCPAndCallsTools(t *testing.T) {
	tsClientDir(t) // before the system starts: a fresh npm ci takes a while
	s := startSystem(t)
	enableOIDC(t, s, startOP(t, s.edge+"/oauth/callback"))

	res := runTSClient(t, s.url("demo"), opUser, opPassword)

	if res.SignIns != 1 || !slices.Equal(res.FormsFilled, []string{"login", "consent"}) ||
		!slices.Contains(res.PagesSeen, "/login/username") || !slices.Contains(res.PagesSeen, "/oauth/callback") {
		t.Errorf("sign-in did not go once through the OpenID provider's login and vmcp's consent: %d sign-ins, forms %v on pages %v",
			res.SignIns, res.FormsFilled, res.PagesSeen)
	}
	if !slices.Contains(res.Tools, "notes__add_note") || !slices.Contains(res.Tools, "weather__get_forecast") {
		t.Errorf("tools after OAuth sign-in: %v", res.Tools)
	}
	var note struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(res.AddNote, &note); err != nil || note.ID == "" {
		t.Errorf("notes__add_note returned %s, want a structured result with the new note's id", res.AddNote)
	}
	if !res.ForecastOK {
		t.Error("weather__get_forecast for Oslo, 1 day, did not return a one-day forecast for Oslo")
	}
	if !res.Refreshed || !res.UsedRefreshedToken || res.AfterRefreshTools == 0 {
		t.Errorf("after the refresh: refreshed %v, tools/list on the new token %v, %d tools",
			res.Refreshed, res.UsedRefreshedToken, res.AfterRefreshTools)
	}
	if !res.RefreshTokenRotated {
		t.Error("the refresh did not rotate the refresh token")
	}
	// No token passthrough: the notes connector saw its own credential on every request.
	seen := s.notesSeen.all()
	if len(seen) == 0 {
		t.Fatal("the notes connector received no request")
	}
	for _, h := range seen {
		if h.Get("Authorization") != "Bearer "+notesToken {
			t.Fatal("the notes connector received a request without its own credential")
		}
	}
}

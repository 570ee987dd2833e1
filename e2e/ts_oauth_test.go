package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
	dir := npmDir(t, "ts")
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
	npmDir(t, "ts") // before the system starts: a fresh npm ci takes a while
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

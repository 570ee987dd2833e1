package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/admin"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/audit/audittest"
)

const (
	cliAdminToken = "cli-admin-token-7f3a"
	cliUserToken  = "cli-user-token-19bc"
)

type discardRecorder struct{}

func (discardRecorder) Record(audit.Event) {}

// adminServer serves the real admin API over a store seeded with n events, one a minute back
// from now, and counts the requests it answers.
func adminServer(t *testing.T, n int, extra ...audit.Event) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	store := audittest.NewMemStore()
	now := time.Now().UTC().Truncate(time.Second)
	evs := append([]audit.Event(nil), extra...)
	for i := range n {
		tm := now.Add(-time.Duration(i+1) * time.Minute)
		evs = append(evs, audit.Event{
			ID: audit.NewID(tm), Time: tm, Kind: audit.KindMCP, Subject: []string{"alice", "bob"}[i%2],
			VirtualServer: "team", Connector: "notes", Method: "tools/call", Target: "notes__search",
			Outcome: audit.OutcomeOK, LatencyMicros: 2500,
		})
	}
	if err := store.InsertAuditEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	h, err := admin.New(admin.Config{
		Store: store, Recorder: discardRecorder{}, AdminGroups: []string{"vmcp-admins"},
		Authenticate: func(r *http.Request) (string, []string, error) {
			switch r.Header.Get("Authorization") {
			case "Bearer " + cliAdminToken:
				return "root", []string{"vmcp-admins"}, nil
			case "Bearer " + cliUserToken:
				return "alice", nil, nil
			}
			return "", nil, errors.New("bad token")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestAuditPrintsATable(t *testing.T) {
	srv, _ := adminServer(t, 3, audit.Event{
		ID: "01ZZZZZZZZZZZZZZZZZZZZZZZZ", Time: time.Now().UTC(), Kind: audit.KindMCP, Subject: "mallory",
		Method: "tools/call", Target: "evil\x1b[2Jtool\tname", Outcome: audit.OutcomeError, ErrorCode: -32602, LatencyMicros: 1234,
	})
	out, errOut, code := runCLI(t, "audit", "--server", srv.URL, "--token", cliAdminToken)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("want a header and 4 rows:\n%s", out)
	}
	for _, col := range []string{"TIME", "USER", "VS", "CONNECTOR", "METHOD", "TARGET", "OUTCOME", "LATENCY"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header lacks %s: %q", col, lines[0])
		}
	}
	if f := strings.Fields(lines[1]); len(f) != 8 || f[1] != "mallory" || f[5] != "evil?[2Jtool?name" || f[6] != "error(-32602)" || f[7] != "1.2ms" {
		t.Errorf("newest row (escape sequence and tab neutralised): %q", f)
	}
	if f := strings.Fields(lines[2]); len(f) != 8 || f[2] != "team" || f[3] != "notes" || f[6] != "ok" || f[7] != "2.5ms" {
		t.Errorf("row %q", f)
	}
	if strings.ContainsAny(out, "\x1b") || strings.Contains(out+errOut, cliAdminToken) {
		t.Error("escape sequence or token in the output")
	}
}

func TestAuditFollowsTheCursorUpToTheLimitAsJSONLines(t *testing.T) {
	srv, calls := adminServer(t, 1200)
	t.Setenv("VMCP_TOKEN", cliAdminToken) // no --token: the environment supplies it
	out, errOut, code := runCLI(t, "audit", "--server", srv.URL, "--json", "--limit", "1100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1100 || calls.Load() != 2 {
		t.Fatalf("%d lines in %d requests, want 1100 in 2 (pages of at most 1000)", len(lines), calls.Load())
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var ev audit.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.ID == "" || seen[ev.ID] {
			t.Fatalf("line %q: err %v, seen before %v", l, err, seen[ev.ID])
		}
		seen[ev.ID] = true
	}
}

func TestAuditPassesFilters(t *testing.T) {
	srv, _ := adminServer(t, 10)
	out, errOut, code := runCLI(t, "audit", "--server", srv.URL, "--token", cliAdminToken, "--user", "bob", "--since", "5m30s", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Events 1..5 minutes ago are in the window; bob has the 2- and 4-minute ones.
	if len(lines) != 2 {
		t.Fatalf("got %d events:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"sub":"bob"`) {
			t.Errorf("event of someone else: %s", l)
		}
	}
}

func TestAuditExplainsRefusals(t *testing.T) {
	srv, _ := adminServer(t, 1)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--token", "wrong-token-value"}, 1, "did not accept the token (401)"},
		{[]string{"--token", cliUserToken}, 1, "not in any of audit.admin_groups (403)"},
		{[]string{"--token", cliAdminToken, "--kind", "http"}, 1, `kind: "http" is not one of mcp, authz`},
		{[]string{"--token", cliAdminToken, "--since", "last tuesday"}, 2, "--since"},
		{[]string{}, 2, "pass --token or set VMCP_TOKEN"},
		{[]string{"--token", cliAdminToken, "--server", "ftp://x"}, 2, "not an http(s) URL"},
	} {
		t.Setenv("VMCP_TOKEN", "")
		args := append([]string{"audit", "--server", srv.URL}, tc.args...)
		out, errOut, code := runCLI(t, args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("vmcp %v: exit %d, stderr %q; want exit %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
		for _, tok := range []string{"wrong-token-value", cliUserToken, cliAdminToken} {
			if strings.Contains(out+errOut, tok) {
				t.Errorf("vmcp %v printed a token", tc.args)
			}
		}
	}
}

func TestAuditReportsAnUnreachableServer(t *testing.T) {
	srv, _ := adminServer(t, 0)
	srv.Close()
	_, errOut, code := runCLI(t, "audit", "--server", srv.URL, "--token", cliAdminToken)
	if code != 1 || !strings.Contains(errOut, "cannot reach the admin API") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestUsagePrintsATable(t *testing.T) {
	srv, _ := adminServer(t, 6)
	out, errOut, code := runCLI(t, "usage", "--server", srv.URL, "--token", cliAdminToken, "--by", "user", "--since", "1h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "usage by user, ") {
		t.Fatalf("output:\n%s", out)
	}
	if h := strings.Fields(lines[1]); fmt.Sprint(h) != "[USER CALLS ERRORS DENIALS P50 P95]" {
		t.Errorf("header %q", h)
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 6 || (f[0] != "alice" && f[0] != "bob") || f[1] != "3" || f[4] != "2.5ms" {
			t.Errorf("row %q", f)
		}
	}

	_, errOut, code = runCLI(t, "usage", "--server", srv.URL, "--token", cliAdminToken, "--by", "day")
	if code != 1 || !strings.Contains(errOut, `by: "day" is not one of user, tool, connector, virtual_server`) {
		t.Errorf("--by day: exit %d: %s", code, errOut)
	}
	out, _, code = runCLI(t, "usage", "--server", srv.URL, "--token", cliAdminToken, "--json", "--by", "tool")
	var rep admin.UsageReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.By != audit.ByTarget || len(rep.Rows) != 1 || rep.Rows[0].Calls != 6 {
		t.Errorf("--json: exit %d %s", code, out)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90m":                  now.Add(-90 * time.Minute),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"2026-05-01T00:00:00Z": time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := parseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-5m", "soon", "3w"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/crypto/bcrypt"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// consoleRun is what e2e/browser/console.mjs saw in Chromium.
type consoleRun struct {
	Screenshots []string `json:"screenshots"`
	Anonymous   struct {
		URL         string `json:"url"`
		HasPassword bool   `json:"hasPassword"`
	} `json:"anonymous"`
	User struct {
		Landed       string   `json:"landed"`
		Heading      string   `json:"heading"`
		UsageStatus  int      `json:"usageStatus"`
		UsageHeading string   `json:"usageHeading"`
		NavLinks     []string `json:"navLinks"`
		Connections  string   `json:"connections"`
	} `json:"user"`
	Servers struct {
		URL              string   `json:"url"`
		Snippets         []string `json:"snippets"`
		Tools            []string `json:"tools"`
		ToolsUnavailable bool     `json:"toolsUnavailable"`
		Hidden           []string `json:"hidden"`
		Detail           string   `json:"detail"`
		CopyButton       string   `json:"copyButton"`
	} `json:"servers"`
	Connectors [][]string `json:"connectors"`
	Audit      struct {
		Before int        `json:"before"`
		Rows   [][]string `json:"rows"`
	} `json:"audit"`
	Usage struct {
		Totals     string   `json:"totals"`
		Bars       int      `json:"bars"`
		DeniedBars int      `json:"deniedBars"`
		Labels     []string `json:"labels"`
	} `json:"usage"`
	Propose struct {
		Valid    bool   `json:"valid"`
		Diff     string `json:"diff"`
		Problems string `json:"problems"`
	} `json:"propose"`
	SignedOut    string `json:"signedOut"`
	AfterSignOut struct {
		HasPassword bool `json:"hasPassword"`
	} `json:"afterSignOut"`
}

func TestTheWebConsoleInChromium(t *testing.T) {
	chromium := requireChromium(t)
	dir := npmDir(t, "browser")
	hash, err := bcrypt.GenerateFromPassword([]byte("root-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// alice (eng) is an ordinary user; root is in vmcp-admins, the default audit.admin_groups.
	s := startSystem(t, func(c *harness.Config) {
		c.Auth.DevUsers = append(slices.Clone(devUsers), harness.DevUser{Username: "root", PasswordHash: string(hash), Groups: []string{"vmcp-admins"}})
	})
	s.reload(func() { s.writeConfig(curatedServer) })

	// carol reads notes and is refused the forecasters' tool: one denied call before the
	// browser opens the audit page, and one more while it watches (the trigger).
	carol := connect(t, s.url("curated"), s.token("carol", "curated", "--groups", "readers"))
	callTool(t, carol, "notes__write_note", map[string]any{"title": "t", "body": "b"})
	deniedCall := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := carol.CallTool(ctx, &mcp.CallToolParams{Name: "weather__get_forecast", Arguments: map[string]any{"city": "Oslo", "days": 1}})
		if err == nil || !strings.Contains(err.Error(), "denied by policy") {
			return fmt.Errorf("the forecasters' tool was not denied to carol: %v", err)
		}
		return nil
	}
	if err := deniedCall(); err != nil {
		t.Fatal(err)
	}
	// The trigger names the denied tool (?phase=target), or makes one more denied call.
	trigger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("phase") == "target" {
			w.Write([]byte("weather__get_forecast"))
			return
		}
		if err := deniedCall(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("weather__get_forecast"))
	}))
	defer trigger.Close()

	shots := t.TempDir()
	if d := os.Getenv("VMCP_CONSOLE_SHOTS"); d != "" { // keep the screenshots after the test
		shots = d
	}
	run := runConsoleBrowser(t, dir, chromium, map[string]string{
		"BASE": s.edge, "SHOTS": shots, "VS": "curated", "GROUPS": "readers", "TRIGGER": trigger.URL,
		"USER_CREDS": "alice:alice", "ADMIN_CREDS": "root:root-pw",
	})
	t.Logf("console screenshots (%d) in %s: %v", len(run.Screenshots), shots, run.Screenshots)
	for _, f := range run.Screenshots {
		if info, err := os.Stat(f); err != nil || info.Size() < 1000 {
			t.Errorf("screenshot %s missing or empty: %v", f, err)
		}
	}

	// Sign-in is required, and signing out ends the session.
	if !run.Anonymous.HasPassword || !strings.Contains(run.Anonymous.URL, "/console/signin") {
		t.Errorf("an anonymous visitor was not asked to sign in: %+v", run.Anonymous)
	}
	if run.SignedOut != "Signed out" || !run.AfterSignOut.HasPassword {
		t.Errorf("sign-out: %q, then sign-in asked: %v", run.SignedOut, run.AfterSignOut.HasPassword)
	}
	// Admin pages are refused to a user who is not an admin; their own connections are not.
	u := run.User
	if u.Landed != "/console/servers" || u.Heading != "Administrators only" || u.UsageStatus != http.StatusForbidden || u.UsageHeading != "Administrators only" {
		t.Errorf("alice on admin pages: %+v", u)
	}
	if slices.Contains(u.NavLinks, "Audit") || !slices.Contains(u.NavLinks, "My connections") {
		t.Errorf("alice's navigation: %v", u.NavLinks)
	}
	// Per-user connections are wired; this deployment has no connector that uses them.
	if !strings.Contains(u.Connections, "No connector here signs in with your own account") {
		t.Errorf("alice's connections page: %q", u.Connections)
	}

	// The virtual server: its URL, client snippets, and what curation and policy do for readers.
	sv := run.Servers
	want := s.url("curated")
	if sv.URL != want || len(sv.Snippets) != 4 || !strings.Contains(sv.Snippets[0], "claude mcp add --transport http curated "+want) {
		t.Errorf("virtual server %q, snippets %q", sv.URL, sv.Snippets)
	}
	if !slices.Contains(sv.Hidden, "notes: get_note") || !strings.Contains(sv.Detail, "weather__* needs forecasters") {
		t.Errorf("curation and policy marks: hidden %v, detail %q", sv.Hidden, sv.Detail)
	}
	// The tool list as readers see it: the aggregator's own tools/list dry run.
	if sv.ToolsUnavailable || !slices.Contains(sv.Tools, "notes__write_note") || !slices.Contains(sv.Tools, "notes__list_notes") {
		t.Errorf("readers' tools: unavailable %v, tools %v", sv.ToolsUnavailable, sv.Tools)
	}
	for _, unwanted := range []string{"notes__add_note", "notes__get_note", "weather__get_forecast"} {
		if slices.Contains(sv.Tools, unwanted) {
			t.Errorf("readers' tool list shows %s: %v", unwanted, sv.Tools)
		}
	}
	if !strings.Contains(sv.Detail, "renamed from add_note") || !strings.Contains(sv.Detail, "description overridden") {
		t.Errorf("the renamed tool is not marked: %q", sv.Detail)
	}
	if sv.CopyButton != "Copied" {
		t.Errorf("the copy button says %q after a click", sv.CopyButton)
	}

	// Connectors: credential strategy, never the secret; health from the audit trail.
	var notes []string
	for _, row := range run.Connectors {
		if len(row) > 0 && row[0] == "notes" {
			notes = row
		}
	}
	if len(notes) < 11 || notes[2] != "bearer token (Authorization header)" || notes[4] == "n/a" || notes[4] == "0" || notes[5] == "0" || notes[9] == "never" {
		t.Errorf("the notes connector's row: %q", notes)
	}

	// The audit view's live tail showed the denied call made while it was open.
	denied := 0
	for _, row := range run.Audit.Rows {
		if len(row) > 8 && row[2] == "carol" && row[6] == "weather__get_forecast" && row[8] == "denied" {
			denied++
		}
	}
	if run.Audit.Before < 1 || denied != run.Audit.Before+1 {
		t.Errorf("denied calls: %d on opening the audit page, %d after the live tail: %q", run.Audit.Before, denied, run.Audit.Rows)
	}

	// Usage charts show the denials per tool.
	if run.Usage.DeniedBars == 0 || !slices.Contains(run.Usage.Labels, "weather__get_forecast") || !strings.Contains(run.Usage.Totals, "2 denials") {
		t.Errorf("usage: %+v", run.Usage)
	}

	// The proposed change is a validated diff of the configuration file, which stays as it was.
	before, _ := os.ReadFile(s.configPath)
	if !run.Propose.Valid || !strings.Contains(run.Propose.Diff, "+          list_notes:") || !strings.Contains(run.Propose.Diff, "+            hidden: true") {
		t.Errorf("proposed diff (valid %v): %s %s", run.Propose.Valid, run.Propose.Diff, run.Propose.Problems)
	}
	if after, _ := os.ReadFile(s.configPath); !bytes.Equal(before, after) {
		t.Error("the console changed the configuration file")
	}
	if out, _ := json.Marshal(run); bytes.Contains(out, []byte(notesToken)) {
		t.Error("a page showed the notes connector's credential")
	}
	if strings.Contains(s.vmcp.Output(), notesToken) {
		t.Error("vmcp logged the notes connector's credential")
	}
}

// requireChromium returns Debian's chromium, installing the package when it is missing (as
// root, or with sudo), as CI's .ci/run does.
func requireChromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	install := "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"
	if os.Geteuid() != 0 {
		install = "sudo sh -c '" + install + "'"
	}
	if out, err := exec.CommandContext(ctx, "sh", "-c", install).CombinedOutput(); err != nil {
		t.Fatalf("the console browser test needs Debian's chromium and could not install it (%v):\n%s", err, out)
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium installed but not on PATH: %v", err)
	}
	return p
}

// runConsoleBrowser runs e2e/browser/console.mjs with env and returns what it saw. Its stderr is
// shown only when the test fails.
func runConsoleBrowser(t *testing.T, dir, chromium string, env map[string]string) consoleRun {
	t.Helper()
	requireNode(t)
	unlock, err := lockTSDeps(dir, syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", "console.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	t.Cleanup(func() {
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("\n==== console.mjs stderr ====\n%s==== end of console.mjs stderr ====", stderr.String())
		}
	})
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatal("the browser run did not finish within 3 minutes")
		}
		t.Fatalf("the browser run failed (%v): %s", err, stderr.String())
	}
	var run consoleRun
	if err := json.Unmarshal(stdout.Bytes(), &run); err != nil {
		t.Fatalf("console.mjs printed %q, not its JSON result: %v", stdout.String(), err)
	}
	return run
}

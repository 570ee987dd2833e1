package console_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/audit/audittest"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/console"
	"github.com/vmcp-dev/vmcp/oauth"
)

func TestAPageWithoutASessionSendsTheBrowserToSignInAndBackToIt(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	first := b.get("/console/usage?by=user")
	if first.status != http.StatusSeeOther || first.location != "/console/signin?next=%2Fconsole%2Fusage%3Fby%3Duser" {
		t.Fatalf("without a session: %d Location %q", first.status, first.location)
	}
	landed := b.signIn("/console/usage?by=user", "root", "root-pw")
	if landed.status != http.StatusOK || landed.resp.Request.URL.RequestURI() != "/console/usage?by=user" {
		t.Fatalf("after sign-in: %d at %s", landed.status, landed.resp.Request.URL)
	}
	if !strings.Contains(landed.body, `data-testid="signed-in-as">dev:root (admin)`) {
		t.Errorf("the page does not say who is signed in: %s", landed.body)
	}
	var ck *http.Cookie
	for _, c := range b.client.Jar.Cookies(mustURL(t, f.srv.URL+"/console/")) {
		if c.Name == "vmcp_console" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatal("no session cookie for /console/")
	}
	if got := b.client.Jar.Cookies(mustURL(t, f.srv.URL+"/v/demo/mcp")); len(got) != 0 {
		t.Errorf("the console cookie is sent outside /console/: %v", got)
	}
	// The jar does not keep attributes; check them on the Set-Cookie of a fresh sign-in.
	set := signInSetCookie(t, f)
	for _, want := range []string{"Path=/console/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("Secure on a plain-http public URL would lose the cookie: %q", set)
	}
}

// signInSetCookie signs root in and returns the session's Set-Cookie header.
func signInSetCookie(t *testing.T, f *fixture) string {
	b := f.browser()
	form := b.follow("/console/")
	v := hidden(form.body)
	v.Set("username", "root")
	v.Set("password", "root-pw")
	p := b.post("/oauth/login", v)
	for _, c := range p.resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "vmcp_console=") {
			return c
		}
	}
	t.Fatalf("no session cookie set: %d %v", p.status, p.resp.Header)
	return ""
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAWrongPasswordGivesNoSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	form := b.follow("/console/servers")
	v := hidden(form.body)
	v.Set("username", "root")
	v.Set("password", "guess")
	p := b.post("/oauth/login", v)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Wrong username or password") {
		t.Fatalf("wrong password: %d %s", p.status, p.body)
	}
	if again := b.get("/console/servers"); again.status != http.StatusSeeOther {
		t.Errorf("still no session expected, got %d", again.status)
	}
}

func TestAdminPagesAreRefusedToNonAdminsWhoStillSeeTheirConnections(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	home := b.signIn("/console/", "alice", "alice-pw")
	if home.resp.Request.URL.Path != "/console/connections" || home.status != http.StatusOK {
		t.Fatalf("a non-admin's home: %d at %s", home.status, home.resp.Request.URL)
	}
	if strings.Contains(home.body, `href="/console/audit"`) {
		t.Error("the navigation offers admin pages to a non-admin")
	}
	for _, path := range []string{"/console/servers", "/console/servers?vs=demo", "/console/connectors", "/console/audit", "/console/audit/rows", "/console/usage", "/console/propose"} {
		p := b.get(path)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Administrators only") {
			t.Errorf("GET %s as alice: %d", path, p.status)
		}
		if strings.Contains(p.body, "notes__") || strings.Contains(p.body, "<svg") {
			t.Errorf("GET %s as alice leaked admin data", path)
		}
	}
	p := b.post("/console/propose", url.Values{"csrf": {b.csrf(t)}, "vs": {"demo"}, "connector": {"notes"}, "tool": {"add_note"}, "action": {"hide"}})
	if p.status != http.StatusForbidden {
		t.Errorf("POST /console/propose as alice: %d", p.status)
	}
	if len(f.tools.asked) != 0 {
		t.Errorf("tools were listed for a non-admin: %v", f.tools.asked)
	}
	// Refusals are in the audit trail; the live tail's polls are not.
	var refusals []string
	for _, ev := range f.recorded.events() {
		if ev.Subject != "dev:alice" || ev.Kind != audit.KindAuthz || ev.Decision != "deny" || ev.Outcome != audit.OutcomeDenied {
			t.Errorf("unexpected event %+v", ev)
		}
		refusals = append(refusals, ev.Method+"?"+ev.Target)
	}
	want := []string{"console/servers?", "console/servers?vs=demo", "console/connectors?", "console/audit?", "console/usage?", "console/propose?", "console/propose?"}
	if !slices.Equal(refusals, want) {
		t.Errorf("recorded refusals %v, want %v", refusals, want)
	}
}

func TestAdminPageViewsAreAudited(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn("/console/audit?user=dev%3Abob&cursor=x", "root", "root-pw")
	b.get("/console/audit/rows?user=dev%3Abob")
	evs := f.recorded.events()
	if len(evs) != 1 {
		t.Fatalf("events %+v, want the one page view", evs)
	}
	if ev := evs[0]; ev.Subject != "dev:root" || ev.Method != "console/audit" || ev.Target != "user=dev%3Abob" || ev.Decision != "allow" || ev.Policy != "audit.admin_groups" {
		t.Errorf("event %+v", ev)
	}
}

func TestFormsWithoutTheSessionsCSRFTokenAreRefused(t *testing.T) {
	f := newFixture(t)
	f.conns.connect("dev:alice", "notes")
	alice, root := f.browser(), f.browser()
	alice.signIn("/console/connections", "alice", "alice-pw")
	root.signIn("/console/connections", "root", "root-pw")
	for name, token := range map[string]string{"none": "", "garbage": "abc", "another session's": root.csrf(t)} {
		p := alice.post("/console/connections/disconnect", url.Values{"csrf": {token}, "connector": {"notes"}})
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Form refused") {
			t.Errorf("%s CSRF token: %d", name, p.status)
		}
	}
	if connected, _ := f.conns.Connected(context.Background(), "dev:alice"); !connected["notes"] {
		t.Fatal("a refused form disconnected alice")
	}
	p := alice.post("/console/connections/disconnect", url.Values{"csrf": {alice.csrf(t)}, "connector": {"notes"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("disconnect with the right token: %d %s", p.status, p.body)
	}
	if connected, _ := f.conns.Connected(context.Background(), "dev:alice"); connected["notes"] {
		t.Error("alice is still connected to notes")
	}
	page := alice.get("/console/connections")
	if !strings.Contains(page.body, "not connected") || !strings.Contains(page.body, `href="/connect/notes"`) {
		t.Errorf("My connections after disconnect: %s", page.body)
	}
	// A POST without a session is 401, not a redirect into sign-in.
	if p := f.browser().post("/console/connections/disconnect", url.Values{"connector": {"notes"}}); p.status != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d", p.status)
	}
}

func TestATamperedOrExpiredSessionCookieIsNoSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn("/console/connections", "alice", "alice-pw")
	u := mustURL(t, f.srv.URL+"/console/")
	var value string
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "vmcp_console" {
			value = c.Value
		}
	}
	body, sig, _ := strings.Cut(value, ".")
	// alice promotes herself to the admin group, keeping the signature.
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || !strings.Contains(string(raw), `"groups":["eng"]`) {
		t.Fatalf("cookie body %q: %v", raw, err)
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"groups":["eng"]`, `"groups":["vmcp-admins"]`, 1))) + "." + sig
	b2 := f.browser()
	b2.client.Jar.SetCookies(u, []*http.Cookie{{Name: "vmcp_console", Value: forged, Path: "/console/"}})
	if p := b2.get("/console/audit"); p.status != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", p.status)
	}
	if p := b.get("/console/connections"); p.status != http.StatusOK {
		t.Fatalf("the session before it expires: %d", p.status)
	}
	f.skip(9 * time.Hour)
	if p := b.get("/console/connections"); p.status != http.StatusSeeOther {
		t.Errorf("expired session: %d", p.status)
	}
}

func TestSignInOnlyReturnsToConsolePages(t *testing.T) {
	f := newFixture(t)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/console/..//evil.example", "/oauth/token", "/\\evil.example"} {
		b := f.browser()
		landed := b.signIn("/console/signin?next="+url.QueryEscape(next), "root", "root-pw")
		if got := landed.resp.Request.URL; got.Host != mustURL(t, f.srv.URL).Host || !strings.HasPrefix(got.Path, "/console/") {
			t.Errorf("next=%q landed on %s", next, got)
		}
	}
}

func TestServersShowSnippetsAndTheToolsAGroupSeesWithCurationMarked(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn("/console/servers", "root", "root-pw")
	url := f.srv.URL + "/v/demo/mcp"
	p := b.get("/console/servers?vs=demo&user=bob&groups=sales")
	if p.status != http.StatusOK {
		t.Fatalf("%d %s", p.status, p.body)
	}
	for _, want := range []string{
		"claude mcp add --transport http demo " + url,
		`&#34;type&#34;: &#34;http&#34;`, `&#34;mcpServers&#34;`,
		"npx @modelcontextprotocol/inspector --cli " + url,
		`data-copy="` + url + `"`,
		`data-tool="notes__add_note"`, "description overridden",
		`data-testid="hidden-tool">notes: delete_note`,
		"<code>notes__all_notes</code> needs eng",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("servers page lacks %q", want)
		}
	}
	if strings.Contains(p.body, `data-tool="notes__all_notes"`) {
		t.Error("sales sees the eng-only tool")
	}
	eng := b.get("/console/servers?vs=demo&user=bob&groups=eng")
	if !strings.Contains(eng.body, `data-tool="notes__all_notes"`) || !strings.Contains(eng.body, "renamed from list_notes") || !strings.Contains(eng.body, "restricted to eng") {
		t.Errorf("eng's list lacks the renamed tool and its marks: %s", eng.body)
	}
	if got := f.tools.asked; len(got) != 2 || got[0] != "bob|sales|demo" || got[1] != "bob|eng|demo" {
		t.Errorf("effective tools asked %v", got)
	}
	if p := b.get("/console/servers?vs=nope"); p.status != http.StatusNotFound {
		t.Errorf("unknown virtual server: %d", p.status)
	}
}

func TestNoSecretAppearsOnAnyPage(t *testing.T) {
	f := newFixture(t)
	seed(t, f)
	b := f.browser()
	b.signIn("/console/servers", "root", "root-pw")
	for _, path := range []string{"/console/servers", "/console/servers?vs=demo", "/console/connectors", "/console/audit", "/console/audit/rows", "/console/usage", "/console/propose", "/console/connections"} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Errorf("GET %s: %d", path, p.status)
		}
		for _, secret := range []string{notesSecret, "in-the-url"} {
			if strings.Contains(p.body, secret) {
				t.Errorf("GET %s shows the secret %q", path, secret)
			}
		}
	}
	p := b.post("/console/propose", url.Values{"csrf": {b.csrf(t)}, "vs": {"demo"}, "connector": {"weather"}, "tool": {"forecast"}, "action": {"hide"}})
	if strings.Contains(p.body, notesSecret) {
		t.Error("the proposed diff shows a secret")
	}
	c := b.get("/console/connectors")
	for _, want := range []string{"bearer token (Authorization header)", "API key in header X-Api-Key", "<code>http://127.0.0.1:1/mcp</code>"} {
		if !strings.Contains(c.body, want) {
			t.Errorf("connectors page lacks %q", want)
		}
	}
}

// seed writes audit events of the last hours: ok, error and denied calls across connectors.
func seed(t *testing.T, f *fixture) []audit.Event {
	t.Helper()
	now := time.Now().UTC()
	var evs []audit.Event
	for i := range 30 {
		at := now.Add(-time.Duration(i) * 20 * time.Minute)
		ev := audit.Event{ID: audit.NewID(at), Time: at, Kind: audit.KindMCP, Subject: []string{"dev:alice", "dev:bob"}[i%2],
			VirtualServer: "demo", Connector: []string{"notes", "weather"}[i%2], Method: "tools/call",
			Target: []string{"notes__add_note", "weather__forecast"}[i%2], Decision: "allow", Outcome: audit.OutcomeOK, LatencyMicros: int64(1000 + 100*i)}
		switch i % 5 {
		case 3:
			ev.Outcome, ev.ErrorCode = audit.OutcomeError, -32603
		case 4:
			ev.Decision, ev.Outcome, ev.Reason, ev.Target = "deny", audit.OutcomeDenied, "tool needs group eng", "notes__all_notes"
		}
		evs = append(evs, ev)
	}
	if err := f.store.InsertAuditEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestTheAuditPageFiltersAndItsLiveTailShowsNewEvents(t *testing.T) {
	f := newFixture(t)
	seed(t, f)
	b := f.browser()
	b.signIn("/console/audit", "root", "root-pw")
	denied := b.get("/console/audit?outcome=denied&connector=notes")
	if n := strings.Count(denied.body, `class="outcome-denied"`); n != 3 {
		t.Errorf("%d denied rows, want 3", n)
	}
	if strings.Contains(denied.body, `class="outcome-ok"`) || !strings.Contains(denied.body, "tool needs group eng") {
		t.Error("the filter let other outcomes through, or the reason is missing")
	}
	if !strings.Contains(denied.body, `data-tail="/console/audit/rows?connector=notes&amp;outcome=denied"`) {
		t.Errorf("the live tail does not keep the filter: %s", denied.body)
	}
	at := time.Now().UTC()
	fresh := audit.Event{ID: audit.NewID(at), Time: at, Kind: audit.KindMCP, Subject: "dev:carol", VirtualServer: "demo", Connector: "notes",
		Method: "tools/call", Target: "notes__delete_note", Decision: "deny", Outcome: audit.OutcomeDenied, Reason: "hidden tool"}
	if err := f.store.InsertAuditEvents(context.Background(), []audit.Event{fresh}); err != nil {
		t.Fatal(err)
	}
	rows := b.get("/console/audit/rows?connector=notes&outcome=denied")
	if rows.status != http.StatusOK || strings.Contains(rows.body, "<html") || !strings.HasPrefix(strings.TrimSpace(rows.body), `<tr class="outcome-denied" data-id="`+fresh.ID) {
		t.Errorf("the tail's rows do not start with the new event: %d %.300s", rows.status, rows.body)
	}
}

func TestUsageChartsAreDrawnFromTheAuditStore(t *testing.T) {
	f := newFixture(t)
	seed(t, f)
	b := f.browser()
	p := b.signIn("/console/usage?by=connector", "root", "root-pw")
	if p.status != http.StatusOK {
		t.Fatalf("%d %s", p.status, p.body)
	}
	if !strings.Contains(p.body, "<b>30</b> calls, <b>6</b> errors, <b>6</b> denials") {
		t.Errorf("totals: %s", p.body)
	}
	for _, want := range []string{`<svg class="chart"`, `<rect class="denied"`, `<rect class="error"`, `<rect class="p95"`, ">notes</text>", ">15 calls</text>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("usage page lacks %q", want)
		}
	}
	if bad := b.get("/console/usage?by=day"); bad.status != http.StatusBadRequest {
		t.Errorf("by=day: %d", bad.status)
	}
}

func TestConnectorsShowHealthFromTheAuditTrail(t *testing.T) {
	f := newFixture(t)
	evs := seed(t, f)
	b := f.browser()
	p := b.signIn("/console/connectors", "root", "root-pw")
	row := p.body[strings.Index(p.body, `data-connector="notes"`):]
	row = row[:strings.Index(row, "</tr>")]
	// notes got the even events: 15 calls, 3 denied (i%5==4 with i even), 3 errors; root sees
	// two of its tools.
	for _, want := range []string{"<td>2</td>\n<td>15</td>", "20.0%", "<td>3</td>", evs[0].Time.UTC().Format("2006-01-02 15:04:05Z"), "(ok)"} {
		if !strings.Contains(row, want) {
			t.Errorf("notes row lacks %q: %s", want, row)
		}
	}
}

func TestAProposedRenameIsAValidatedDiffAndTheFileIsUntouched(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn("/console/propose", "root", "root-pw")
	before, _ := readFile(f.cfgPath)
	p := b.post("/console/propose", url.Values{"csrf": {b.csrf(t)}, "vs": {"demo"}, "connector": {"weather"}, "tool": {"forecast"}, "action": {"rename"}, "name": {"weather_forecast"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="propose-valid"`) {
		t.Fatalf("%d %s", p.status, p.body)
	}
	for _, want := range []string{`<span class="ddel">-      - weather`, `<span class="dadd">&#43;      - name: weather`, `<span class="dadd">&#43;            name: weather_forecast`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("diff lacks %q:\n%s", want, p.body)
		}
	}
	// Only the edited entry changes: comments and the rest of the file stay as they were.
	if dels, adds := strings.Count(p.body, `class="ddel"`), strings.Count(p.body, `class="dadd"`); dels != 1 || adds != 4 {
		t.Errorf("%d deleted and %d added lines, want 1 and 4", dels, adds)
	}
	bad := b.post("/console/propose", url.Values{"csrf": {b.csrf(t)}, "vs": {"demo"}, "connector": {"weather"}, "tool": {"forecast"}, "action": {"rename"}, "name": {"bad name!"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "is not a valid MCP tool name") || !strings.Contains(bad.body, "vmcp.yaml:") {
		t.Errorf("an invalid rename: %d %s", bad.status, bad.body)
	}
	if after, _ := readFile(f.cfgPath); after != before {
		t.Error("proposing changed the configuration file")
	}
}

func TestWithoutASignInMethodTheConsoleSaysHowToConfigureOne(t *testing.T) {
	h, err := console.New(console.Config{
		Store: audittest.NewMemStore(), SessionKey: make([]byte, 32),
		BeginLogin: func(http.ResponseWriter, *http.Request, string) error { return oauth.ErrNoLogin },
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/console/signin", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("before Prepare: %d", w.Code)
	}
	commit, _ := h.Prepare(&config.Config{})
	commit()
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/console/signin?next=/console/audit", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "auth.login.oidc") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", w.Header())
	}
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	begin := func(http.ResponseWriter, *http.Request, string) error { return nil }
	for name, cfg := range map[string]console.Config{
		"no store":    {SessionKey: make([]byte, 32), BeginLogin: begin},
		"no sign-in":  {Store: audittest.NewMemStore(), SessionKey: make([]byte, 32)},
		"a short key": {Store: audittest.NewMemStore(), SessionKey: make([]byte, 16), BeginLogin: begin},
	} {
		if _, err := console.New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A console sign-in carries its groups no longer than auth.sign_in_max_age when that is shorter
// than the console's own 8 hours.
func TestAConsoleSignInEndsAtTheSignInMaxAge(t *testing.T) {
	f := newFixture(t)
	raw, err := os.ReadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.cfgPath, []byte(strings.Replace(string(raw), "auth:\n", "auth:\n  sign_in_max_age: 1h\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := f.console.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	b := f.browser()
	b.signIn("/console/signin", "alice", "alice-pw")
	if p := b.get("/console/connections"); p.status != http.StatusOK {
		t.Fatalf("signed in: %d", p.status)
	}
	f.skip(time.Hour + time.Minute)
	if p := b.get("/console/connections"); p.status != http.StatusSeeOther {
		t.Errorf("a console session older than sign_in_max_age: %d, want 303 to sign in", p.status)
	}
}

package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/console"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/oauth"
)

// The connector credential the pages must never show.
const notesSecret = "console-test-secret-9f3a77"

// configYAML is the fixture's configuration: a dev user of each kind, one virtual server whose
// curation renames, re-describes and hides tools, and a connector with a secret credential.
const configYAML = `
server: {public_url: "%s", data_dir: "%s"}
audit: {admin_groups: [vmcp-admins]}
auth:
  login:
    dev_users:
      - {username: alice, password_hash: "%s", email: alice@example.com, groups: [eng]}
      - {username: root, password_hash: "%s", groups: [vmcp-admins, eng]}
connectors:
  - name: notes
    url: http://127.0.0.1:1/mcp?key=in-the-url
    credential: {type: bearer, token: "${file:notes-token}"}
  - name: weather
    url: http://127.0.0.1:2/mcp
    credential: {type: header, header: X-Api-Key, token: "${file:notes-token}"}
virtual_servers:
  # The team's server.
  - name: demo
    connectors:
      - name: notes
        tools:
          list_notes: {name: all_notes}
          add_note: {description: Add a note for the team}
          delete_note: {hidden: true}
      - weather
    access:
      tools: {"notes__all_notes": [eng]}
  - name: ops
    connectors: [weather]
`

// fixture is the console and vmcp's real authorization server (dev users, SQLite store) on one
// real HTTP listener, mounted as the gateway mounts them.
type fixture struct {
	t        *testing.T
	srv      *httptest.Server
	store    store.Store
	cfgPath  string
	tools    *effectiveTools
	conns    *memConnections
	recorded *memRecorder
	clock    func() time.Time
	skip     func(time.Duration)
	console  *console.Handler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := tokens.LoadKeys(ctx, db, 24*time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes-token"), []byte(notesSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, store: db, cfgPath: filepath.Join(dir, "vmcp.yaml"),
		tools: &effectiveTools{}, conns: &memConnections{m: map[string]map[string]bool{}}, recorded: &memRecorder{}}
	data := fmt.Sprintf(configYAML, srv.URL, filepath.Join(dir, "data"), hash("alice-pw"), hash("root-pw"))
	if err := os.WriteFile(f.cfgPath, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	as := oauth.NewServer(oauth.Options{Store: db, Keys: keys, SealKey: []byte(strings.Repeat("s", 32)), Dev: true, Log: zaptest.NewLogger(t)})
	commit, err := as.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	as.Register(mux)

	// The console's clock runs with the real one, shifted when a test skips ahead.
	var mu sync.Mutex
	var skip time.Duration
	f.clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skip) }
	f.skip = func(d time.Duration) { mu.Lock(); defer mu.Unlock(); skip += d }
	h, err := console.New(console.Config{
		Store: db, SessionKey: []byte(strings.Repeat("k", 32)), BeginLogin: as.BeginLogin,
		EffectiveTools: f.tools.list, Connections: f.conns, Recorder: f.recorded, Log: zaptest.NewLogger(t), Now: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	commit, err = h.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	f.console = h
	as.HandOff(console.LoginPrefix, h.FinishLogin)
	mux.Handle(console.Prefix, h)
	return f
}

// effectiveTools stands in for the aggregator's dry run: the notes connector's tools after the
// demo server's curation, with the eng-only tool left out for callers outside eng. It records
// what it was asked.
type effectiveTools struct {
	mu    sync.Mutex
	asked []string
}

func (e *effectiveTools) list(_ context.Context, user string, groups []string, vs string) ([]json.RawMessage, error) {
	e.mu.Lock()
	e.asked = append(e.asked, fmt.Sprintf("%s|%s|%s", user, strings.Join(groups, ","), vs))
	e.mu.Unlock()
	if vs != "demo" {
		return nil, fmt.Errorf("no virtual server named %q", vs)
	}
	tools := []string{`{"name":"notes__add_note","description":"Add a note for the team"}`, `{"name":"weather__forecast","description":"Forecast"}`}
	if slices.Contains(groups, "eng") {
		tools = append(tools, `{"name":"notes__all_notes","description":"List notes"}`)
	}
	var out []json.RawMessage
	for _, t := range tools {
		out = append(out, json.RawMessage(t))
	}
	return out, nil
}

// memConnections is a user's per-user OAuth connections, in memory: notes uses them.
type memConnections struct {
	mu sync.Mutex
	m  map[string]map[string]bool
}

func (c *memConnections) Connected(_ context.Context, subject string) (map[string]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return map[string]bool{"notes": c.m[subject]["notes"]}, nil
}

func (c *memConnections) Disconnect(_ context.Context, subject, connector string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m[subject], connector)
	return nil
}

func (c *memConnections) ConnectURL(subject, connector string) string {
	return "/connect/" + connector
}

func (c *memConnections) connect(subject, connector string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[subject] == nil {
		c.m[subject] = map[string]bool{}
	}
	c.m[subject][connector] = true
}

// browser is a cookie-keeping client that does not follow redirects by itself, so tests see
// each hop.
type browser struct {
	f      *fixture
	client *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	body     string
	resp     *http.Response
}

func (b *browser) do(req *http.Request) page {
	b.f.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), resp: resp}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest(http.MethodGet, b.f.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, b.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow GETs path and follows redirects within the server, returning the last page.
func (b *browser) follow(path string) page {
	b.f.t.Helper()
	p := b.get(path)
	for i := 0; p.status/100 == 3 && i < 10; i++ {
		p = b.get(strings.TrimPrefix(p.location, b.f.srv.URL))
	}
	return p
}

var hiddenInput = regexp.MustCompile(`name="(state|csrf)" value="([^"]*)"`)

func hidden(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	return v
}

// signIn opens path without a session, signs in on vmcp's dev login form and returns the page
// the browser lands on.
func (b *browser) signIn(path, user, password string) page {
	b.f.t.Helper()
	form := b.follow(path)
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="password"`) {
		b.f.t.Fatalf("GET %s without a session: want the sign-in form, got %d %s", path, form.status, form.body)
	}
	v := hidden(form.body)
	v.Set("username", user)
	v.Set("password", password)
	p := b.post("/oauth/login", v)
	if p.status != http.StatusSeeOther {
		b.f.t.Fatalf("sign-in as %s: %d %s", user, p.status, p.body)
	}
	for i := 0; p.status/100 == 3 && i < 10; i++ {
		p = b.get(strings.TrimPrefix(p.location, b.f.srv.URL))
	}
	return p
}

func (b *browser) csrf(t *testing.T) string {
	t.Helper()
	p := b.get("/console/connections")
	c := hidden(p.body).Get("csrf")
	if c == "" {
		t.Fatalf("no CSRF token on My connections: %s", p.body)
	}
	return c
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// memRecorder keeps the audit events the console records.
type memRecorder struct {
	mu  sync.Mutex
	evs []audit.Event
}

func (m *memRecorder) Record(ev audit.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, ev)
}

func (m *memRecorder) events() []audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.evs)
}

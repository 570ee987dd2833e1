package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/admin"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/audit/audittest"
	"github.com/vmcp-dev/vmcp/internal/store"
)

const (
	adminToken = "admin-token-value-1"
	userToken  = "user-token-value-2"
)

var now = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

// authenticate stands in for vmcp's token verification: two known bearer tokens.
func authenticate(r *http.Request) (string, []string, error) {
	switch r.Header.Get("Authorization") {
	case "Bearer " + adminToken:
		return "root", []string{"eng", "vmcp-admins"}, nil
	case "Bearer " + userToken:
		return "alice", []string{"eng"}, nil
	case "":
		return "", nil, errors.New("no token")
	default:
		return "", nil, errors.New("signature invalid for token " + r.Header.Get("Authorization"))
	}
}

type fixture struct {
	srv   *httptest.Server
	store *audittest.MemStore
	sink  *audittest.MemStore // where the admin requests' own audit events land
	stop  func()              // stops the recorder so that sink holds every event
}

// seedEvents: 60 events over the last 60 hours, one per hour, across users, servers,
// connectors, tools, outcomes and kinds.
func seedEvents() []audit.Event {
	users, vss, conns := []string{"alice", "bob", "carol"}, []string{"team", "ops"}, []string{"notes", "weather", "db"}
	outs := []string{audit.OutcomeOK, audit.OutcomeOK, audit.OutcomeError, audit.OutcomeDenied}
	var evs []audit.Event
	for i := range 60 {
		t := now.Add(-time.Duration(i)*time.Hour - time.Minute)
		kind := audit.KindMCP
		if i%5 == 4 {
			kind = audit.KindAuthz
		}
		evs = append(evs, audit.Event{
			ID: audit.NewID(t), Time: t, Kind: kind, Subject: users[i%3], VirtualServer: vss[i%2],
			Connector: conns[i%3], Method: "tools/call", Target: conns[i%3] + "__op" + fmt.Sprint(i%2),
			Outcome: outs[i%4], LatencyMicros: int64(1000 * (i + 1)),
		})
	}
	return evs
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, sink := audittest.NewMemStore(), audittest.NewMemStore()
	if err := db.InsertAuditEvents(context.Background(), seedEvents()); err != nil {
		t.Fatal(err)
	}
	rec, err := audit.NewRecorder(sink, audit.Options{SpillDir: t.TempDir(), FlushInterval: time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	var stopped bool
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			rec.Close()
		}
	}
	t.Cleanup(stop)
	h, err := admin.New(admin.Config{
		Store: db, Recorder: rec, Authenticate: authenticate, AdminGroups: []string{"vmcp-admins"},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, store: db, sink: sink, stop: stop}
}

func (f *fixture) get(t *testing.T, token, path string, q url.Values) (*http.Response, []byte) {
	t.Helper()
	u := f.srv.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func (f *fixture) page(t *testing.T, q url.Values) admin.AuditPage {
	t.Helper()
	resp, body := f.get(t, adminToken, admin.AuditPath, q)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?%s: %d %s", admin.AuditPath, q.Encode(), resp.StatusCode, body)
	}
	var p admin.AuditPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWithoutATokenTheAnswerIs401WithABearerChallenge(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{admin.AuditPath, admin.UsagePath} {
		resp, body := f.get(t, "", path, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="vmcp-admin"` {
			t.Errorf("%s: WWW-Authenticate %q", path, got)
		}
		if strings.Contains(string(body), "events") {
			t.Errorf("%s: body %s", path, body)
		}
	}
	resp, body := f.get(t, "forged-token-zzz", admin.AuditPath, nil)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="vmcp-admin", error="invalid_token"` {
		t.Errorf("bad token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if strings.Contains(string(body), "forged-token-zzz") || strings.Contains(string(body), "signature") {
		t.Errorf("the authentication error leaked into the answer: %s", body)
	}
}

func TestANonAdminIsForbidden(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{admin.AuditPath, admin.UsagePath} {
		resp, body := f.get(t, userToken, path, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"error":"forbidden"`) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestNoAdminGroupsAdmitsNobody(t *testing.T) {
	h, err := admin.New(admin.Config{Store: audittest.NewMemStore(), Recorder: nopRecorder{}, Authenticate: authenticate})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, admin.AuditPath, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("status %d", w.Code)
	}
}

type nopRecorder struct{}

func (nopRecorder) Record(audit.Event) {}

func TestFiltersSelectExactlyTheMatchingEvents(t *testing.T) {
	f := newFixture(t)
	all := seedEvents()
	for _, tc := range []struct {
		name  string
		q     url.Values
		match func(audit.Event) bool
	}{
		{"user", url.Values{"user": {"bob"}}, func(e audit.Event) bool { return e.Subject == "bob" }},
		{"virtual server", url.Values{"virtual_server": {"ops"}}, func(e audit.Event) bool { return e.VirtualServer == "ops" }},
		{"connector", url.Values{"connector": {"db"}}, func(e audit.Event) bool { return e.Connector == "db" }},
		{"tool", url.Values{"tool": {"notes__op1"}}, func(e audit.Event) bool { return e.Target == "notes__op1" }},
		{"outcome", url.Values{"outcome": {"denied"}}, func(e audit.Event) bool { return e.Outcome == audit.OutcomeDenied }},
		{"kind", url.Values{"kind": {"authz"}}, func(e audit.Event) bool { return e.Kind == audit.KindAuthz }},
		{"window", url.Values{"since": {now.Add(-10 * time.Hour).Format(time.RFC3339)}, "until": {now.Add(-2 * time.Hour).Format(time.RFC3339)}},
			func(e audit.Event) bool {
				return !e.Time.Before(now.Add(-10*time.Hour)) && e.Time.Before(now.Add(-2*time.Hour))
			}},
		{"combined", url.Values{"user": {"alice"}, "kind": {"mcp"}, "outcome": {"ok"}},
			func(e audit.Event) bool { return e.Subject == "alice" && e.Kind == audit.KindMCP && e.Outcome == "ok" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Set("limit", "1000")
			got := f.page(t, tc.q)
			want := 0
			for _, e := range all {
				if tc.match(e) {
					want++
				}
			}
			if want == 0 || len(got.Events) != want {
				t.Errorf("%d events, want %d", len(got.Events), want)
			}
			for _, e := range got.Events {
				if !tc.match(e) {
					t.Errorf("event %+v does not match the filter", e)
				}
			}
		})
	}
}

func TestPagesFollowTheCursorNewestFirstWithoutGapsOrRepeats(t *testing.T) {
	f := newFixture(t)
	q := url.Values{"limit": {"7"}, "kind": {"mcp"}}
	var got []audit.Event
	pages := 0
	for {
		p := f.page(t, q)
		pages++
		got = append(got, p.Events...)
		if p.NextCursor == "" {
			break
		}
		q.Set("cursor", p.NextCursor)
		if pages > 20 {
			t.Fatal("the cursor never ends")
		}
	}
	if len(got) != 48 || pages != 7 {
		t.Fatalf("%d events in %d pages, want 48 in 7", len(got), pages)
	}
	seen := map[string]bool{}
	for i, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %s on two pages", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && e.Time.After(got[i-1].Time) {
			t.Fatalf("page order is not newest first at %d", i)
		}
	}
	if empty := f.page(t, url.Values{"user": {"nobody"}}); empty.Events == nil || len(empty.Events) != 0 {
		t.Errorf("no match should be an empty list, got %#v", empty.Events)
	}
}

func TestBadParametersAre400sThatNameTheParameter(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		path  string
		q     string
		param string
	}{
		{admin.AuditPath, "since=yesterday", "since"},
		{admin.AuditPath, "until=2026-13-01T00:00:00Z", "until"},
		{admin.AuditPath, "since=2026-05-02T00:00:00Z&until=2026-05-01T00:00:00Z", "until"},
		{admin.AuditPath, "limit=0", "limit"},
		{admin.AuditPath, "limit=1001", "limit"},
		{admin.AuditPath, "limit=ten", "limit"},
		{admin.AuditPath, "kind=http", "kind"},
		{admin.AuditPath, "outcome=fine", "outcome"},
		{admin.AuditPath, "usr=alice", "usr"},
		{admin.AuditPath, "user=a&user=b", "user"},
		{admin.AuditPath, "cursor=not-a-cursor", "cursor"},
		{admin.UsagePath, "by=day", "by"},
		{admin.UsagePath, "since=5", "since"},
		{admin.UsagePath, "since=2026-05-10T13:00:00Z", "until"}, // later than the default until (now)
	} {
		req := f.srv.URL + tc.path + "?" + tc.q
		resp, body := f.get(t, adminToken, tc.path, mustQuery(t, tc.q))
		var e struct{ Error, Parameter, Message string }
		json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusBadRequest || e.Parameter != tc.param || !strings.Contains(e.Message, tc.param) {
			t.Errorf("GET %s: %d %s; want 400 naming %q", req, resp.StatusCode, body, tc.param)
		}
	}
}

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestUsageGroupsTheLast24HoursByDefault(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, adminToken, admin.UsagePath, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var rep admin.UsageReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.By != audit.BySubject || !rep.Until.Equal(now) || !rep.Since.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("by %s window %v..%v", rep.By, rep.Since, rep.Until)
	}
	var calls int64
	for _, r := range rep.Rows {
		calls += r.Calls
	}
	// Events 0..23 fall in the last 24 hours; 4, 9, 14 and 19 are authz and not counted.
	if calls != 20 {
		t.Errorf("%d calls in the window, want 20: %+v", calls, rep.Rows)
	}

	_, body = f.get(t, adminToken, admin.UsagePath, url.Values{"by": {"connector"}, "since": {now.Add(-72 * time.Hour).Format(time.RFC3339)}})
	json.Unmarshal(body, &rep)
	if rep.By != audit.ByConnector || len(rep.Rows) != 3 {
		t.Fatalf("by connector: %s", body)
	}
	for _, r := range rep.Rows {
		if r.Calls != 16 || r.P95Millis < r.P50Millis {
			t.Errorf("row %+v", r)
		}
	}
}

func TestOtherMethodsAre405(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+admin.AuditPath, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "GET") {
		t.Errorf("POST: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

type failingStore struct{ *audittest.MemStore }

func (failingStore) QueryAuditEvents(context.Context, audit.Filter) ([]audit.Event, string, error) {
	return nil, "", errors.New("pq: password authentication failed for user vmcp")
}

func TestAStoreFailureIs500WithoutDetails(t *testing.T) {
	h, err := admin.New(admin.Config{
		Store: failingStore{audittest.NewMemStore()}, Recorder: nopRecorder{}, Authenticate: authenticate,
		AdminGroups: []string{"vmcp-admins"},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, admin.AuditPath, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "pq:") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
	}
}

func TestEveryAdminRequestIsAudited(t *testing.T) {
	f := newFixture(t)
	f.get(t, "", admin.AuditPath, nil)
	f.get(t, userToken, admin.UsagePath, nil)
	p := f.page(t, url.Values{"user": {"bob"}, "limit": {"2"}})
	f.page(t, url.Values{"user": {"bob"}, "limit": {"2"}, "cursor": {p.NextCursor}})
	f.get(t, adminToken, admin.AuditPath, url.Values{"limit": {"0"}})
	f.stop()

	type rec struct{ sub, method, decision, outcome, target, reason string }
	var got []rec
	for _, e := range f.sink.Events() {
		if e.Kind != audit.KindAuthz {
			t.Errorf("admin event of kind %q", e.Kind)
		}
		b, _ := json.Marshal(e)
		for _, tok := range []string{adminToken, userToken} {
			if strings.Contains(string(b), tok) {
				t.Errorf("a token reached the audit trail: %s", b)
			}
		}
		got = append(got, rec{e.Subject, e.Method, e.Decision, e.Outcome, e.Target, e.Reason})
	}
	want := []rec{
		{"", admin.MethodAudit, "unauthenticated", audit.OutcomeDenied, "", "no valid bearer token"},
		{"alice", admin.MethodUsage, "deny", audit.OutcomeDenied, "", "not in an admin group"},
		{"root", admin.MethodAudit, "allow", audit.OutcomeOK, "limit=2&user=bob", ""},
		{"root", admin.MethodAudit, "allow", audit.OutcomeOK, "limit=2&user=bob", ""},
		{"root", admin.MethodAudit, "allow", audit.OutcomeError, "limit=0", "bad parameter limit"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audited admin requests:\n got %v\nwant %v", got, want)
	}
}

// The real store's cursor refusal (audit.ErrBadCursor) is the caller's 400, not a 500.
func TestABadCursorFromTheRealStoreIs400(t *testing.T) {
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := admin.New(admin.Config{Store: db, Recorder: nopRecorder{}, Authenticate: authenticate, AdminGroups: []string{"vmcp-admins"}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, admin.AuditPath+"?cursor=Zm9yZ2Vk", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"parameter":"cursor"`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

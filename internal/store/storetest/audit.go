package storetest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// base is the time the audit tests' events are placed around.
var base = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// ev is an MCP event at time at, adjusted by set.
func ev(id string, at time.Time, set func(*audit.Event)) audit.Event {
	e := audit.Event{ID: id, Time: at, Kind: audit.KindMCP, Subject: "alice", VirtualServer: "team",
		Connector: "drive", Method: "tools/call", Target: "search", Outcome: audit.OutcomeOK, LatencyMicros: 1000}
	if set != nil {
		set(&e)
	}
	return e
}

func insert(t *testing.T, db store.Store, events ...audit.Event) {
	t.Helper()
	if err := db.InsertAuditEvents(t.Context(), events); err != nil {
		t.Fatal(err)
	}
}

func queryIDs(t *testing.T, db store.Store, f audit.Filter) []string {
	t.Helper()
	events, _, err := db.QueryAuditEvents(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ids(events)
}

func ids(events []audit.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

var auditInsertTests = []test{
	{"every field of an event round-trips, time to the microsecond", func(t *testing.T, e *env) {
		db := e.store()
		in := audit.Event{
			ID: "e1", Time: base.Add(123456789 * time.Nanosecond), Kind: audit.KindMCP, RequestID: "req-1",
			Subject: "alice", Email: "alice@example.com", ClientID: "client-1", VirtualServer: "team",
			Connector: "drive", Method: "tools/call", Target: "search", Decision: "allow",
			Policy: "vmcp.tools", Reason: "member of eng", PolicyRevision: "rev-7", DecisionID: "4f9c0b8e-1d2a-4c3b-9e8f-7a6b5c4d3e2f", Outcome: audit.OutcomeError, ErrorCode: -32602,
			UpstreamStatus: 502, LatencyMicros: 1234567, BytesIn: 10, BytesOut: 1 << 40,
			Arguments: map[string]any{"query": "q4 report", "limit": 10.0, "deep": map[string]any{"token": "[redacted]"},
				"tags": []any{"a", true, nil}},
		}
		insert(t, db, in)
		got, next, err := db.QueryAuditEvents(t.Context(), audit.Filter{})
		if err != nil || len(got) != 1 || next != "" {
			t.Fatalf("got %d events, cursor %q, err %v", len(got), next, err)
		}
		want := in
		want.Time = in.Time.Truncate(time.Microsecond)
		if !got[0].Time.Equal(want.Time) {
			t.Fatalf("time %v, want %v", got[0].Time, want.Time)
		}
		got[0].Time = want.Time
		if !reflect.DeepEqual(got[0], want) {
			t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", got[0], want)
		}
	}},
	{"an event recorded without arguments comes back without arguments", func(t *testing.T, e *env) {
		db := e.store()
		insert(t, db, ev("none", base, nil), ev("keys", base.Add(time.Second), func(e *audit.Event) {
			e.Arguments = map[string]any{"path": nil}
		}))
		got, _, err := db.QueryAuditEvents(t.Context(), audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if got[1].Arguments != nil || !reflect.DeepEqual(got[0].Arguments, map[string]any{"path": nil}) {
			t.Fatalf("arguments: none=%#v keys=%#v", got[1].Arguments, got[0].Arguments)
		}
	}},
	{"inserting an event id again keeps the first event and adds nothing", func(t *testing.T, e *env) {
		db := e.store()
		insert(t, db, ev("e1", base, nil), ev("e2", base.Add(time.Second), nil))
		// A replayed spill file: e1 again (changed, even) together with a new event, and a
		// duplicate inside one batch.
		insert(t, db, ev("e1", base, func(e *audit.Event) { e.Subject = "mallory" }), ev("e3", base.Add(2*time.Second), nil),
			ev("e3", base.Add(2*time.Second), nil))
		got, _, err := db.QueryAuditEvents(t.Context(), audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != "[e3 e2 e1]" || got[2].Subject != "alice" {
			t.Fatalf("got %v with e1 by %q; want [e3 e2 e1] with e1 by alice", ids(got), got[2].Subject)
		}
	}},
	{"an event stored without its outcome gives way to the complete event of its id, and only it", func(t *testing.T, e *env) {
		st := e.store()
		// A vmcp that died while a call's outcome was on its way stored the call as it was
		// journaled; the complete event, replayed after it, replaces it. A complete event is
		// never replaced, by an unknown one or another.
		unknown := func(e *audit.Event) { e.Outcome, e.Reason = audit.OutcomeUnknown, "vmcp stopped" }
		insert(t, st, ev("pending", base, unknown), ev("done", base.Add(time.Second), nil))
		insert(t, st, ev("pending", base, func(e *audit.Event) { e.Outcome, e.LatencyMicros = audit.OutcomeToolError, 42 }),
			ev("done", base.Add(time.Second), unknown))
		insert(t, st, ev("pending", base, func(e *audit.Event) { e.Outcome = audit.OutcomeOK }))
		got, _, err := st.QueryAuditEvents(t.Context(), audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]audit.Event{}
		for _, e := range got {
			byID[e.ID] = e
		}
		if p := byID["pending"]; len(got) != 2 || p.Outcome != audit.OutcomeToolError || p.LatencyMicros != 42 || p.Reason != "" {
			t.Errorf("pending: %+v (of %d events); want the complete tool error, once", p, len(got))
		}
		if d := byID["done"]; d.Outcome != audit.OutcomeOK {
			t.Errorf("done: outcome %q; want ok, unreplaced", d.Outcome)
		}
	}},
	{"a request's own event takes the place of authz's decision on it, and nothing takes its place", func(t *testing.T, e *env) {
		st := e.store()
		decision := func(e *audit.Event) { e.Kind, e.Decision, e.Policy = audit.KindAuthz, "allow", "authz" }
		call := func(e *audit.Event) {
			e.Kind, e.Method, e.Decision, e.Policy = audit.KindMCP, "tools/call", "allow", "tools"
		}
		// One request's decision and call in separate batches, another's in one batch; then
		// both decisions again (a replayed spill file), and a changed call of the first.
		insert(t, st, ev("r1", base, decision))
		insert(t, st, ev("r1", base.Add(time.Millisecond), call))
		insert(t, st, ev("r2", base.Add(time.Second), decision), ev("r2", base.Add(time.Second), call))
		insert(t, st, ev("r1", base, decision), ev("r2", base.Add(time.Second), decision),
			ev("r1", base, func(e *audit.Event) { call(e); e.Subject = "mallory" }))
		got, _, err := st.QueryAuditEvents(t.Context(), audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d events %v; want one per request", len(got), ids(got))
		}
		for _, g := range got {
			if g.Kind != audit.KindMCP || g.Policy != "tools" || g.Subject != "alice" {
				t.Errorf("%s: %+v; want the request's own event, as first stored", g.ID, g)
			}
		}
	}},
	{"a batch with one bad event stores none of its events", func(t *testing.T, e *env) {
		db := e.store()
		for _, bad := range []audit.Event{
			ev("", base, nil), // no id: could never be deduplicated
			ev("unencodable", base, func(e *audit.Event) { e.Arguments = map[string]any{"f": func() {}} }),
			ev("nan", base, func(e *audit.Event) { e.Arguments = map[string]any{"x": math.NaN()} }),
		} {
			if err := db.InsertAuditEvents(t.Context(), []audit.Event{ev("good", base, nil), bad}); err == nil {
				t.Fatalf("batch with bad event %q was accepted", bad.ID)
			}
		}
		if got := queryIDs(t, db, audit.Filter{}); len(got) != 0 {
			t.Fatalf("stored %v from rejected batches", got)
		}
	}},
	{"an empty batch is a no-op", func(t *testing.T, e *env) {
		db := e.store()
		if err := db.InsertAuditEvents(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}},
}

// filterEvents is the data set of the filter table: one event differs from e0 in each dimension.
func filterEvents() []audit.Event {
	return []audit.Event{
		ev("e0", base, nil),
		ev("e1", base.Add(1*time.Second), func(e *audit.Event) { e.Subject = "bob" }),
		ev("e2", base.Add(2*time.Second), func(e *audit.Event) { e.VirtualServer = "sales" }),
		ev("e3", base.Add(3*time.Second), func(e *audit.Event) { e.Connector = "slack" }),
		ev("e4", base.Add(4*time.Second), func(e *audit.Event) { e.Target = "send" }),
		ev("e5", base.Add(5*time.Second), func(e *audit.Event) { e.Outcome = audit.OutcomeDenied }),
		ev("e6", base.Add(6*time.Second), func(e *audit.Event) { e.Kind = audit.KindAuthz; e.Decision = "deny" }),
		ev("e7", base.Add(7*time.Second), func(e *audit.Event) { e.Subject = "bob"; e.Connector = "slack" }),
	}
}

var auditQueryTests = []test{
	{"each filter field selects only matching events, newest first", func(t *testing.T, e *env) {
		db := e.store()
		insert(t, db, filterEvents()...)
		for _, tc := range []struct {
			name string
			f    audit.Filter
			want string
		}{
			{"no filter returns every event", audit.Filter{}, "[e7 e6 e5 e4 e3 e2 e1 e0]"},
			{"subject selects that user's events", audit.Filter{Subject: "bob"}, "[e7 e1]"},
			{"virtual server selects that server's events", audit.Filter{VirtualServer: "sales"}, "[e2]"},
			{"connector selects that connector's events", audit.Filter{Connector: "slack"}, "[e7 e3]"},
			{"target selects calls of that tool", audit.Filter{Target: "send"}, "[e4]"},
			{"outcome selects events that ended so", audit.Filter{Outcome: audit.OutcomeDenied}, "[e5]"},
			{"kind selects authorization decisions", audit.Filter{Kind: audit.KindAuthz}, "[e6]"},
			{"since is inclusive", audit.Filter{Since: base.Add(6 * time.Second)}, "[e7 e6]"},
			{"until is exclusive", audit.Filter{Until: base.Add(2 * time.Second)}, "[e1 e0]"},
			{"since and until make a window", audit.Filter{Since: base.Add(3 * time.Second), Until: base.Add(5 * time.Second)}, "[e4 e3]"},
			{"fields combine with and", audit.Filter{Subject: "bob", Connector: "slack"}, "[e7]"},
			{"a filter nothing matches returns nothing", audit.Filter{Subject: "carol"}, "[]"},
		} {
			if got := fmt.Sprint(queryIDs(t, db, tc.f)); got != tc.want {
				t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
			}
		}
	}},
	{"pages walk every event once, newest first, ties in time ordered by id", func(t *testing.T, e *env) {
		db := e.store()
		var events []audit.Event
		for i := range 25 {
			// Five events share each timestamp, so pages split ties.
			events = append(events, ev(fmt.Sprintf("e%02d", i), base.Add(time.Duration(i/5)*time.Millisecond), nil))
		}
		insert(t, db, events...)
		var want []string
		for i := 24; i >= 0; i-- {
			want = append(want, fmt.Sprintf("e%02d", i))
		}
		got, pages := walk(t, db, audit.Filter{Limit: 7}, func(int) {})
		if !slices.Equal(got, want) || pages != 4 {
			t.Fatalf("got %v in %d pages, want %v in 4", got, pages, want)
		}
	}},
	{"events arriving during pagination do not shift later pages", func(t *testing.T, e *env) {
		db := e.store()
		for i := range 10 {
			insert(t, db, ev(fmt.Sprintf("old%d", i), base.Add(time.Duration(i)*time.Second), nil))
		}
		got, _ := walk(t, db, audit.Filter{Limit: 3}, func(page int) {
			insert(t, db, ev(fmt.Sprintf("new%d", page), base.Add(time.Hour+time.Duration(page)*time.Second), nil))
		})
		if want := "[old9 old8 old7 old6 old5 old4 old3 old2 old1 old0]"; fmt.Sprint(got) != want {
			t.Fatalf("got %v, want %s", got, want)
		}
	}},
	{"pages of a filtered query contain only matching events", func(t *testing.T, e *env) {
		db := e.store()
		for i := range 20 {
			who := []string{"alice", "bob"}[i%2]
			insert(t, db, ev(fmt.Sprintf("e%02d", i), base.Add(time.Duration(i)*time.Second), func(e *audit.Event) { e.Subject = who }))
		}
		got, pages := walk(t, db, audit.Filter{Subject: "bob", Limit: 4}, func(int) {})
		if want := "[e19 e17 e15 e13 e11 e09 e07 e05 e03 e01]"; fmt.Sprint(got) != want || pages != 3 {
			t.Fatalf("got %v in %d pages, want %s in 3", got, pages, want)
		}
	}},
	{"the page size defaults to 100 and is capped at 1000", func(t *testing.T, e *env) {
		db := e.store()
		events := make([]audit.Event, 1005)
		for i := range events {
			events[i] = ev(fmt.Sprintf("e%04d", i), base.Add(time.Duration(i)*time.Millisecond), nil)
		}
		insert(t, db, events...)
		for _, tc := range []struct {
			limit, want int
		}{{0, 100}, {-1, 100}, {5, 5}, {1000, 1000}, {5000, 1000}} {
			got, next, err := db.QueryAuditEvents(t.Context(), audit.Filter{Limit: tc.limit})
			if err != nil || len(got) != tc.want || next == "" {
				t.Errorf("Limit %d: %d events, cursor %q, err %v; want %d and a cursor", tc.limit, len(got), next, err, tc.want)
			}
		}
	}},
	{"a cursor the store did not hand out is refused", func(t *testing.T, e *env) {
		db := e.store()
		insert(t, db, ev("e1", base, nil))
		for _, c := range []string{"not base64!", "bm8tY29sb24", "eDppZA", "MTI6"} { // "no-colon", "x:id", "12:"
			if _, _, err := db.QueryAuditEvents(t.Context(), audit.Filter{Cursor: c}); !errors.Is(err, audit.ErrBadCursor) {
				t.Errorf("cursor %q: %v, want audit.ErrBadCursor", c, err)
			}
		}
	}},
}

// walk follows cursors from f to the end, calling between(n) after page n, and returns every id
// and the number of pages. It fails on a repeated id or a page over the limit.
func walk(t *testing.T, db store.Store, f audit.Filter, between func(page int)) ([]string, int) {
	t.Helper()
	var all []string
	for pages := 1; ; pages++ {
		events, next, err := db.QueryAuditEvents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) > f.Limit {
			t.Fatalf("page %d has %d events, over the limit %d", pages, len(events), f.Limit)
		}
		for _, id := range ids(events) {
			if slices.Contains(all, id) {
				t.Fatalf("%s came twice", id)
			}
			all = append(all, id)
		}
		if next == "" {
			return all, pages
		}
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		between(pages)
		f.Cursor = next
	}
}

var auditUsageTests = []test{
	{"usage counts calls, errors and denials and interpolates latency percentiles per group", func(t *testing.T, e *env) {
		db := e.store()
		var events []audit.Event
		// alice: 100 calls at 1, 2, …, 100 ms; 2 JSON-RPC errors, 1 tool error, 1 upstream
		// failure, 3 denials.
		outcomes := map[int]string{10: audit.OutcomeError, 20: audit.OutcomeError, 30: audit.OutcomeToolError,
			40: audit.OutcomeUpstream, 50: audit.OutcomeDenied, 60: audit.OutcomeDenied, 70: audit.OutcomeDenied}
		for i := 1; i <= 100; i++ {
			events = append(events, ev(fmt.Sprintf("a%03d", i), base.Add(time.Duration(i)*time.Second), func(e *audit.Event) {
				e.LatencyMicros = int64(i) * 1000
				if o, ok := outcomes[i]; ok {
					e.Outcome = o
				}
				if i > 60 {
					e.Connector, e.Target, e.VirtualServer = "slack", "send", "sales"
				}
			}))
		}
		// bob: 3 calls at 1 ms, 2 ms and 10 ms.
		for i, us := range []int64{10000, 1000, 2000} {
			events = append(events, ev(fmt.Sprintf("b%d", i), base.Add(time.Duration(i)*time.Second), func(e *audit.Event) {
				e.Subject, e.LatencyMicros = "bob", us
			}))
		}
		// Not counted: authorization decisions, and MCP events outside [since, until).
		events = append(events,
			ev("authz", base.Add(time.Second), func(e *audit.Event) { e.Kind = audit.KindAuthz; e.Outcome = audit.OutcomeDenied }),
			ev("before", base.Add(-time.Microsecond), nil),
			ev("at-until", base.Add(time.Hour), nil))
		insert(t, db, events...)

		since, until := base, base.Add(time.Hour)
		for _, tc := range []struct {
			by   audit.GroupBy
			want []audit.Usage
		}{
			{audit.BySubject, []audit.Usage{
				// percentile_cont: p50 of 1..100 is 50.5, p95 is 95 + 0.05 × (96 − 95).
				{Key: "alice", Calls: 100, Errors: 4, Denials: 3, P50Millis: 50.5, P95Millis: 95.05},
				// Of 1, 2, 10: p50 is 2; p95 is 2 + 0.9 × (10 − 2).
				{Key: "bob", Calls: 3, P50Millis: 2, P95Millis: 9.2},
			}},
			{audit.ByConnector, []audit.Usage{
				// drive: alice's first 60 (1..60 ms) and bob's 3; slack: alice's last 40 (61..100 ms).
				{Key: "drive", Calls: 63, Errors: 4, Denials: 2, P50Millis: 29, P95Millis: 56.9},
				{Key: "slack", Calls: 40, Denials: 1, P50Millis: 80.5, P95Millis: 98.05},
			}},
			{audit.ByTarget, []audit.Usage{
				{Key: "search", Calls: 63, Errors: 4, Denials: 2, P50Millis: 29, P95Millis: 56.9},
				{Key: "send", Calls: 40, Denials: 1, P50Millis: 80.5, P95Millis: 98.05},
			}},
			{audit.ByVirtualServer, []audit.Usage{
				{Key: "team", Calls: 63, Errors: 4, Denials: 2, P50Millis: 29, P95Millis: 56.9},
				{Key: "sales", Calls: 40, Denials: 1, P50Millis: 80.5, P95Millis: 98.05},
			}},
		} {
			got, err := db.AuditUsage(t.Context(), tc.by, since, until)
			if err != nil {
				t.Fatalf("by %s: %v", tc.by, err)
			}
			if !usageEqual(got, tc.want) {
				t.Errorf("by %s:\n got %+v\nwant %+v", tc.by, got, tc.want)
			}
		}
	}},
	{"usage of a window without events is empty", func(t *testing.T, e *env) {
		db := e.store()
		insert(t, db, ev("e1", base, nil))
		got, err := db.AuditUsage(t.Context(), audit.BySubject, base.Add(time.Hour), base.Add(2*time.Hour))
		if err != nil || len(got) != 0 {
			t.Fatalf("got %v, %v", got, err)
		}
	}},
	{"usage groups of equal size are ordered by key", func(t *testing.T, e *env) {
		db := e.store()
		for i, who := range []string{"carol", "Bob", "alice"} {
			insert(t, db, ev(fmt.Sprint(i), base, func(e *audit.Event) { e.Subject = who }))
		}
		got, err := db.AuditUsage(t.Context(), audit.BySubject, base, base.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, u := range got {
			keys = append(keys, u.Key)
		}
		// Byte order on both backends, whatever the PostgreSQL database's collation.
		if fmt.Sprint(keys) != "[Bob alice carol]" {
			t.Fatalf("got %v", keys)
		}
	}},
	{"usage by an unknown dimension is refused", func(t *testing.T, e *env) {
		db := e.store()
		if _, err := db.AuditUsage(t.Context(), audit.GroupBy("email; DROP TABLE audit_events"), base, base.Add(time.Hour)); err == nil ||
			!strings.Contains(err.Error(), "cannot group by") {
			t.Fatalf("got %v", err)
		}
	}},
}

func usageEqual(got, want []audit.Usage) bool {
	if len(got) != len(want) {
		return false
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for i := range got {
		g, w := got[i], want[i]
		if g.Key != w.Key || g.Calls != w.Calls || g.Errors != w.Errors || g.Denials != w.Denials ||
			!near(g.P50Millis, w.P50Millis) || !near(g.P95Millis, w.P95Millis) {
			return false
		}
	}
	return true
}

var auditRetentionTests = []test{
	{"retention deletes old events in batches of at most the limit, oldest first", func(t *testing.T, e *env) {
		db := e.store()
		for i := range 10 {
			insert(t, db, ev(fmt.Sprintf("old%d", i), base.Add(time.Duration(i-10)*time.Minute), nil))
		}
		insert(t, db, ev("at-cutoff", base, nil), ev("new", base.Add(time.Minute), nil))
		var batches []int
		for {
			n, err := db.DeleteAuditEventsBefore(t.Context(), base, 4)
			if err != nil {
				t.Fatal(err)
			}
			batches = append(batches, n)
			if n == 0 {
				break
			}
			if len(batches) == 1 {
				// The oldest go first.
				if got := fmt.Sprint(queryIDs(t, db, audit.Filter{Until: base})); got != "[old9 old8 old7 old6 old5 old4]" {
					t.Fatalf("after the first batch: %s", got)
				}
			}
		}
		if fmt.Sprint(batches) != "[4 4 2 0]" {
			t.Fatalf("batches %v, want [4 4 2 0]", batches)
		}
		if got := fmt.Sprint(queryIDs(t, db, audit.Filter{})); got != "[new at-cutoff]" {
			t.Fatalf("left %s, want [new at-cutoff]", got)
		}
	}},
	{"a retention batch without a positive limit is refused", func(t *testing.T, e *env) {
		db := e.store()
		insert(t, db, ev("old", base, nil))
		for _, limit := range []int{0, -1} {
			if _, err := db.DeleteAuditEventsBefore(t.Context(), base.Add(time.Hour), limit); err == nil {
				t.Errorf("limit %d accepted", limit)
			}
		}
		if got := queryIDs(t, db, audit.Filter{}); len(got) != 1 {
			t.Fatalf("events deleted: %v left", got)
		}
	}},
}

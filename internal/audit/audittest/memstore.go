// Package audittest provides an in-memory audit.Store for tests of the code around the store
// (the recorder, the admin API, the CLI), with switches to make it fail, stall or refuse
// events. It is a test double of the Store interface, not of the SQLite or PostgreSQL stores:
// tests that need their exact behaviour use them.
package audittest

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// MemStore is an audit.Store in memory. It pages newest first by (time, id), as the real stores
// do, and inserts idempotently by id but for the replacements audit.Replaces allows.
type MemStore struct {
	mu      sync.Mutex
	byID    map[string]audit.Event
	inserts int   // InsertAuditEvents calls that succeeded
	calls   int   // InsertAuditEvents calls
	dups    int   // events skipped because their id existed
	fail    error // returned by InsertAuditEvents while set
	gate    chan struct{}
	entered chan struct{}
	refuse  func(audit.Event) bool
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{byID: map[string]audit.Event{}} }

// Fail makes every InsertAuditEvents return err until Fail(nil).
func (s *MemStore) Fail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// Stall makes InsertAuditEvents wait until the returned release is called (or its context
// ends). Entered receives once per insert that starts waiting.
func (s *MemStore) Stall() (entered <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate, ent := make(chan struct{}), make(chan struct{}, 1024)
	s.gate, s.entered = gate, ent
	var once sync.Once
	return ent, func() {
		once.Do(func() {
			s.mu.Lock()
			s.gate = nil
			s.mu.Unlock()
			close(gate)
		})
	}
}

// Refuse makes InsertAuditEvents fail a batch holding an event for which bad returns true
// (a poison event: the store works, that event does not).
func (s *MemStore) Refuse(bad func(audit.Event) bool) {
	s.mu.Lock()
	s.refuse = bad
	s.mu.Unlock()
}

// Events returns every stored event, oldest first.
func (s *MemStore) Events() []audit.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]audit.Event, 0, len(s.byID))
	for _, e := range s.byID {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b audit.Event) int { return -newestFirst(a, b) })
	return out
}

// Len is the number of stored events.
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Duplicates is how many inserted events were skipped because their id was already stored.
func (s *MemStore) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}

// InsertCalls is how many times InsertAuditEvents was called, and how many succeeded.
func (s *MemStore) InsertCalls() (calls, ok int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.inserts
}

// InsertAuditEvents implements audit.Store: all or nothing, existing ids skipped.
func (s *MemStore) InsertAuditEvents(ctx context.Context, events []audit.Event) error {
	s.mu.Lock()
	s.calls++
	gate, entered := s.gate, s.entered
	s.mu.Unlock()
	if gate != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.fail != nil {
		return s.fail
	}
	for _, e := range events {
		if e.ID == "" {
			return fmt.Errorf("memstore: event without id")
		}
		if s.refuse != nil && s.refuse(e) {
			return fmt.Errorf("memstore: event %s refused", e.ID)
		}
	}
	for _, e := range events {
		if stored, ok := s.byID[e.ID]; ok && !audit.Replaces(&e, &stored) {
			s.dups++
			continue
		}
		s.byID[e.ID] = e
	}
	s.inserts++
	return nil
}

// newestFirst orders by (time, id) descending.
func newestFirst(a, b audit.Event) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// QueryAuditEvents implements audit.Store.
func (s *MemStore) QueryAuditEvents(_ context.Context, f audit.Filter) ([]audit.Event, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var after *audit.Event
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		after = &c
	}
	match := func(e audit.Event) bool {
		eq := func(want, got string) bool { return want == "" || want == got }
		return eq(f.Subject, e.Subject) && eq(f.VirtualServer, e.VirtualServer) &&
			eq(f.Connector, e.Connector) && eq(f.Target, e.Target) && eq(f.Outcome, e.Outcome) &&
			eq(string(f.Kind), string(e.Kind)) &&
			(f.Since.IsZero() || !e.Time.Before(f.Since)) && (f.Until.IsZero() || e.Time.Before(f.Until)) &&
			(after == nil || newestFirst(*after, e) < 0) // strictly older than the cursor
	}
	all := s.Events()
	slices.Reverse(all)
	var out []audit.Event
	for _, e := range all {
		if !match(e) {
			continue
		}
		if len(out) == limit {
			last := out[len(out)-1]
			return out, encodeCursor(last), nil
		}
		out = append(out, e)
	}
	return out, "", nil
}

func encodeCursor(e audit.Event) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.Time.UnixNano(), 10) + "/" + e.ID))
}

func decodeCursor(c string) (audit.Event, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	ns, id, ok := strings.Cut(string(b), "/")
	n, perr := strconv.ParseInt(ns, 10, 64)
	if err != nil || !ok || perr != nil || id == "" {
		return audit.Event{}, audit.ErrBadCursor
	}
	return audit.Event{Time: time.Unix(0, n), ID: id}, nil
}

// AuditUsage implements audit.Store: MCP events in [since, until) grouped by the dimension,
// most calls first. Errors are error, tool_error and upstream outcomes; denials are denied.
func (s *MemStore) AuditUsage(_ context.Context, by audit.GroupBy, since, until time.Time) ([]audit.Usage, error) {
	key := map[audit.GroupBy]func(audit.Event) string{
		audit.BySubject:       func(e audit.Event) string { return e.Subject },
		audit.ByTarget:        func(e audit.Event) string { return e.Target },
		audit.ByConnector:     func(e audit.Event) string { return e.Connector },
		audit.ByVirtualServer: func(e audit.Event) string { return e.VirtualServer },
	}[by]
	if key == nil {
		return nil, fmt.Errorf("memstore: cannot group by %q", by)
	}
	rows := map[string]*audit.Usage{}
	lat := map[string][]float64{}
	for _, e := range s.Events() {
		if e.Kind != audit.KindMCP || e.Time.Before(since) || !e.Time.Before(until) {
			continue
		}
		k := key(e)
		u := rows[k]
		if u == nil {
			u = &audit.Usage{Key: k}
			rows[k] = u
		}
		u.Calls++
		switch e.Outcome {
		case audit.OutcomeError, audit.OutcomeToolError, audit.OutcomeUpstream:
			u.Errors++
		case audit.OutcomeDenied:
			u.Denials++
		}
		lat[k] = append(lat[k], float64(e.LatencyMicros)/1000)
	}
	out := make([]audit.Usage, 0, len(rows))
	for k, u := range rows {
		l := lat[k]
		slices.Sort(l)
		u.P50Millis, u.P95Millis = percentile(l, 0.50), percentile(l, 0.95)
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b audit.Usage) int {
		if a.Calls != b.Calls {
			return int(b.Calls - a.Calls)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// DeleteAuditEventsBefore implements audit.Store, oldest first.
func (s *MemStore) DeleteAuditEventsBefore(_ context.Context, t time.Time, limit int) (int, error) {
	old := s.Events()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range old {
		if n == limit || !e.Time.Before(t) {
			break
		}
		delete(s.byID, e.ID)
		n++
	}
	return n, nil
}

var _ audit.Store = (*MemStore)(nil)

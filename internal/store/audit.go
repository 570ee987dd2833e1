package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// The audit trail: the column order, how an event becomes a row and back, the page cursor, the
// filter, and the percentile definition.

// auditColumns is the column order of every insert and select.
const auditColumns = `id, time_us, kind, request_id, subject, email, client_id, virtual_server, connector,
	method, target, decision, policy, reason, outcome, error_code, upstream_status, latency_us,
	bytes_in, bytes_out, arguments, policy_revision, decision_id`

const auditColumnCount = 23

// Page sizes of audit.Filter.Limit.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// auditRows turns events into insert arguments in auditColumns order. It checks the whole batch
// before anything is written: an event without an id could never be deduplicated on replay.
func auditRows(events []audit.Event) ([][]any, error) {
	rows := make([][]any, 0, len(events))
	for i := range events {
		e := &events[i]
		if e.ID == "" {
			return nil, fmt.Errorf("store: audit event %d of %d has no id", i+1, len(events))
		}
		var args any // NULL: no arguments recorded
		if e.Arguments != nil {
			b, err := json.Marshal(e.Arguments)
			if err != nil {
				return nil, fmt.Errorf("store: audit event %q: arguments: %w", e.ID, err)
			}
			args = string(b)
		}
		rows = append(rows, []any{
			e.ID, e.Time.UnixMicro(), string(e.Kind), e.RequestID, e.Subject, e.Email, e.ClientID,
			e.VirtualServer, e.Connector, e.Method, e.Target, e.Decision, e.Policy, e.Reason,
			e.Outcome, e.ErrorCode, e.UpstreamStatus, e.LatencyMicros, e.BytesIn, e.BytesOut, args,
			e.PolicyRevision, e.DecisionID,
		})
	}
	return rows, nil
}

// eventRow receives one selected row; both drivers scan into its dest.
type eventRow struct {
	e    audit.Event
	us   int64
	kind string
	args sql.NullString
}

func (r *eventRow) dest() []any {
	e := &r.e
	return []any{
		&e.ID, &r.us, &r.kind, &e.RequestID, &e.Subject, &e.Email, &e.ClientID,
		&e.VirtualServer, &e.Connector, &e.Method, &e.Target, &e.Decision, &e.Policy, &e.Reason,
		&e.Outcome, &e.ErrorCode, &e.UpstreamStatus, &e.LatencyMicros, &e.BytesIn, &e.BytesOut, &r.args,
		&e.PolicyRevision, &e.DecisionID,
	}
}

func (r *eventRow) event() (audit.Event, error) {
	e := r.e
	e.Time = time.UnixMicro(r.us).UTC()
	e.Kind = audit.Kind(r.kind)
	if r.args.Valid {
		if err := json.Unmarshal([]byte(r.args.String), &e.Arguments); err != nil {
			return audit.Event{}, fmt.Errorf("store: audit event %q: arguments: %w", e.ID, err)
		}
	}
	return e, nil
}

// A cursor is the (time, id) of the last event of a page, so the next page starts strictly
// after it in (time_us DESC, id DESC) order: keyset pagination, stable while new events arrive
// and as fast on the thousandth page as on the first.
type cursor struct {
	us int64
	id string
}

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.us, 10) + ":" + c.id))
}

// decodeCursor refuses, with audit.ErrBadCursor, any cursor encode did not make.
func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, audit.ErrBadCursor
	}
	us, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return cursor{}, audit.ErrBadCursor
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return cursor{}, audit.ErrBadCursor
	}
	return cursor{us: n, id: id}, nil
}

// auditQuery builds the select of one page for f. It selects limit+1 rows: the extra one only
// says another page exists.
func auditQuery(f audit.Filter) (query string, args []any, limit int, err error) {
	limit = f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	var where []string
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond)
	}
	for _, eq := range []struct{ column, value string }{
		{"subject", f.Subject}, {"virtual_server", f.VirtualServer}, {"connector", f.Connector},
		{"target", f.Target}, {"outcome", f.Outcome}, {"kind", string(f.Kind)},
	} {
		if eq.value != "" {
			add(eq.column+" = ?", eq.value)
		}
	}
	if !f.Since.IsZero() {
		add("time_us >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("time_us < ?", f.Until.UnixMicro())
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, 0, err
		}
		args = append(args, c.us, c.id)
		where = append(where, "(time_us, id) < (?, ?)")
	}
	query = "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	query += " ORDER BY time_us DESC, id DESC LIMIT ?"
	return query, args, limit, nil
}

// page trims the extra row auditQuery asked for and makes the next cursor from the last event.
func page(events []audit.Event, limit int) ([]audit.Event, string) {
	if len(events) <= limit {
		return events, ""
	}
	events = events[:limit]
	last := events[limit-1]
	return events, cursor{us: last.Time.UnixMicro(), id: last.ID}.encode()
}

// usageColumn is the column a usage dimension groups by. Only these fixed names ever reach SQL.
func usageColumn(by audit.GroupBy) (string, error) {
	switch by {
	case audit.BySubject:
		return "subject", nil
	case audit.ByTarget:
		return "target", nil
	case audit.ByConnector:
		return "connector", nil
	case audit.ByVirtualServer:
		return "virtual_server", nil
	default:
		return "", fmt.Errorf("store: audit usage: cannot group by %q", by)
	}
}

// Outcomes counted as errors and as denials in audit.Usage.
var (
	errorOutcomes = []string{audit.OutcomeError, audit.OutcomeToolError, audit.OutcomeUpstream}
	denyOutcome   = audit.OutcomeDenied
)

func isErrorOutcome(o string) bool {
	for _, e := range errorOutcomes {
		if o == e {
			return true
		}
	}
	return false
}

// percentileCont is PostgreSQL's percentile_cont over sorted values: linear interpolation between
// the two nearest ranks. SQLite has no such aggregate, so on SQLite the store computes the same
// number here and both databases report identical percentiles.
func percentileCont(sorted []int64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := p * float64(len(sorted)-1)
	lo, hi := math.Floor(pos), math.Ceil(pos)
	first, second := float64(sorted[int(lo)]), float64(sorted[int(hi)])
	return first + (second-first)*(pos-lo)
}

// errLimit refuses a retention batch that could not make progress.
var errLimit = errors.New("store: delete audit events: limit must be positive")

// readEvents reads a page of audit events and the cursor of the next one.
func readEvents(rows rows, limit int) ([]audit.Event, string, error) {
	var out []audit.Event
	for rows.Next() {
		var r eventRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, "", fmt.Errorf("store: query audit events: %w", err)
		}
		e, err := r.event()
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: query audit events: %w", err)
	}
	out, next := page(out, limit)
	return out, next, nil
}

// insertAudit inserts one event; an id already stored is skipped, so a replayed batch stores
// nothing twice. The exceptions are audit.Replaces: a request's own event takes the place of
// authz's decision on it (audit.Handoff), and a complete event that of one recorded without its
// outcome (audit.Recorder's Pending, replayed after vmcp died).
var insertAudit = "INSERT INTO audit_events (" + auditColumns + ") VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", auditColumnCount), ", ") + ") ON CONFLICT (id) DO UPDATE SET " +
	updateAuditColumns() + " WHERE (audit_events.kind = '" + string(audit.KindAuthz) + "' AND excluded.kind <> '" + string(audit.KindAuthz) + "')" +
	" OR (audit_events.outcome = '" + audit.OutcomeUnknown + "' AND excluded.outcome <> '" + audit.OutcomeUnknown + "')"

// updateAuditColumns sets every column but the id from the row that was not inserted.
func updateAuditColumns() string {
	var b strings.Builder
	for _, c := range strings.Split(auditColumns, ",") {
		if c = strings.TrimSpace(c); c != "id" {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c + " = excluded." + c)
		}
	}
	return b.String()
}

func (s *sqlStore) InsertAuditEvents(ctx context.Context, events []audit.Event) error {
	rows, err := auditRows(events)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	if err := s.c.execBatch(ctx, insertAudit, rows); err != nil {
		return fmt.Errorf("store: insert audit events: %w", err)
	}
	return nil
}

func (s *sqlStore) QueryAuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, string, error) {
	query, args, limit, err := auditQuery(f)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.c.query(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: query audit events: %w", err)
	}
	defer rows.Close()
	return readEvents(rows, limit)
}

// AuditUsage aggregates the window's MCP calls by the dimension by.
func (s *sqlStore) AuditUsage(ctx context.Context, by audit.GroupBy, since, until time.Time) ([]audit.Usage, error) {
	col, err := usageColumn(by)
	if err != nil {
		return nil, err
	}
	var us []audit.Usage
	if s.d.percentiles {
		us, err = s.usageInDatabase(ctx, col, since, until)
	} else {
		us, err = s.usageInGo(ctx, col, since, until)
	}
	if err != nil {
		return nil, fmt.Errorf("store: audit usage: %w", err)
	}
	return us, nil
}

// usageInDatabase aggregates in the database; percentile_cont is the definition usageInGo
// reproduces (percentileCont).
func (s *sqlStore) usageInDatabase(ctx context.Context, col string, since, until time.Time) ([]audit.Usage, error) {
	rows, err := s.c.query(ctx, `SELECT `+col+`, count(*),
			count(*) FILTER (WHERE outcome = ANY(?)),
			count(*) FILTER (WHERE outcome = ?),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_us),
			percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_us)
		FROM audit_events WHERE kind = ? AND time_us >= ? AND time_us < ?
		GROUP BY `+col+` ORDER BY count(*) DESC, `+col+s.d.byteOrder,
		errorOutcomes, denyOutcome, string(audit.KindMCP), since.UnixMicro(), until.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Usage
	for rows.Next() {
		var u audit.Usage
		var p50, p95 float64
		if err := rows.Scan(&u.Key, &u.Calls, &u.Errors, &u.Denials, &p50, &p95); err != nil {
			return nil, err
		}
		u.P50Millis, u.P95Millis = p50/1000, p95/1000
		out = append(out, u)
	}
	return out, rows.Err()
}

// usageInGo reads the window's (key, outcome, latency) rows sorted by key and latency and
// aggregates them here, for a database without percentile_cont. Memory is bounded by the window
// the caller asks for.
func (s *sqlStore) usageInGo(ctx context.Context, col string, since, until time.Time) ([]audit.Usage, error) {
	rows, err := s.c.query(ctx, `SELECT `+col+`, outcome, latency_us FROM audit_events
		WHERE kind = ? AND time_us >= ? AND time_us < ? ORDER BY `+col+s.d.byteOrder+`, latency_us`,
		string(audit.KindMCP), since.UnixMicro(), until.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Usage
	var latencies []int64
	flush := func() {
		if len(out) == 0 {
			return
		}
		u := &out[len(out)-1]
		u.P50Millis = percentileCont(latencies, 0.5) / 1000
		u.P95Millis = percentileCont(latencies, 0.95) / 1000
		latencies = latencies[:0]
	}
	for rows.Next() {
		var key, outcome string
		var latency int64
		if err := rows.Scan(&key, &outcome, &latency); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Key != key {
			flush()
			out = append(out, audit.Usage{Key: key})
		}
		u := &out[len(out)-1]
		u.Calls++
		switch {
		case isErrorOutcome(outcome):
			u.Errors++
		case outcome == denyOutcome:
			u.Denials++
		}
		latencies = append(latencies, latency)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	flush()
	sortUsage(out)
	return out, nil
}

// sortUsage orders usage rows busiest first, then by key in byte order, as usageInDatabase's
// ORDER BY does.
func sortUsage(us []audit.Usage) {
	sort.SliceStable(us, func(i, j int) bool {
		if us[i].Calls != us[j].Calls {
			return us[i].Calls > us[j].Calls
		}
		return us[i].Key < us[j].Key
	})
}

// DeleteAuditEventsBefore deletes the oldest events first, at most limit of them, so that a
// retention sweep holds the write lock (SQLite) or row locks (PostgreSQL) for one bounded batch
// at a time.
func (s *sqlStore) DeleteAuditEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	n, err := s.c.exec(ctx, `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE time_us < ? ORDER BY time_us LIMIT ?`+s.d.skipLocked+`)`, t.UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete audit events: %w", err)
	}
	return int(n), nil
}

package store

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// What both backends share about audit events: the column order, how an event becomes a row and
// back, the page cursor, the filter, and the percentile definition.

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

// eventRow receives one selected row; both database/sql and pgx scan into its dest.
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

// auditQuery builds the select of one page for f. placeholder(n) spells the n-th parameter in
// the backend's dialect. It selects limit+1 rows: the extra one only says another page exists.
func auditQuery(f audit.Filter, placeholder func(n int) string) (query string, args []any, limit int, err error) {
	limit = f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	var where []string
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", placeholder(len(args))))
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
		where = append(where, fmt.Sprintf("(time_us, id) < (%s, %s)", placeholder(len(args)-1), placeholder(len(args))))
	}
	query = "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	query += " ORDER BY time_us DESC, id DESC LIMIT " + placeholder(len(args))
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
// the two nearest ranks. SQLite has no such aggregate, so its backend computes the same number
// here and both backends report identical percentiles.
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

// eventRows is what both drivers' result sets offer (database/sql's *sql.Rows and pgx.Rows).
type eventRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// readEvents reads a page of audit events and the cursor of the next one.
func readEvents(rows eventRows, limit int) ([]audit.Event, string, error) {
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

package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

var sqliteInsertAudit = "INSERT INTO audit_events (" + auditColumns + ") VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", auditColumnCount), ", ") + ") ON CONFLICT (id) DO NOTHING"

func (s *sqliteStore) InsertAuditEvents(ctx context.Context, events []audit.Event) error {
	rows, err := auditRows(events)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: insert audit events: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, sqliteInsertAudit)
	if err != nil {
		return fmt.Errorf("store: insert audit events: %w", err)
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return fmt.Errorf("store: insert audit event %q: %w", r[0], err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: insert audit events: %w", err)
	}
	return nil
}

func (s *sqliteStore) QueryAuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, string, error) {
	query, args, limit, err := auditQuery(f, func(int) string { return "?" })
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: query audit events: %w", err)
	}
	defer rows.Close()
	return readEvents(rows, limit)
}

// AuditUsage reads the window's (key, outcome, latency) rows sorted by key and latency and
// aggregates them here: SQLite has no percentile aggregate. Memory is bounded by the window the
// caller asks for.
func (s *sqliteStore) AuditUsage(ctx context.Context, by audit.GroupBy, since, until time.Time) ([]audit.Usage, error) {
	col, err := usageColumn(by)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+col+`, outcome, latency_us FROM audit_events
		WHERE kind = ? AND time_us >= ? AND time_us < ? ORDER BY `+col+`, latency_us`,
		string(audit.KindMCP), since.UnixMicro(), until.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("store: audit usage: %w", err)
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
			return nil, fmt.Errorf("store: audit usage: %w", err)
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
		return nil, fmt.Errorf("store: audit usage: %w", err)
	}
	flush()
	sortUsage(out)
	return out, nil
}

// sortUsage orders usage rows busiest first, then by key in byte order (PostgreSQL's
// ORDER BY calls DESC, key COLLATE "C").
func sortUsage(us []audit.Usage) {
	sort.SliceStable(us, func(i, j int) bool {
		if us[i].Calls != us[j].Calls {
			return us[i].Calls > us[j].Calls
		}
		return us[i].Key < us[j].Key
	})
}

// DeleteAuditEventsBefore deletes the oldest events first, at most limit of them, so that a
// retention sweep holds the write lock for one bounded batch at a time.
func (s *sqliteStore) DeleteAuditEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE time_us < ? ORDER BY time_us LIMIT ?)`, t.UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete audit events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete audit events: %w", err)
	}
	return int(n), nil
}

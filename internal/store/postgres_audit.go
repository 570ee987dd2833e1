package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

var pgInsertAudit = func() string {
	ph := make([]string, auditColumnCount)
	for i := range ph {
		ph[i] = pgPlaceholder(i + 1)
	}
	return "INSERT INTO audit_events (" + auditColumns + ") VALUES (" + strings.Join(ph, ", ") + ") ON CONFLICT (id) DO NOTHING"
}()

func pgPlaceholder(n int) string { return "$" + strconv.Itoa(n) }

// InsertAuditEvents sends the batch's inserts in one round trip inside one transaction.
func (s *pgStore) InsertAuditEvents(ctx context.Context, events []audit.Event) error {
	rows, err := auditRows(events)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range rows {
			b.Queue(pgInsertAudit, r...)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("store: insert audit events: %w", err)
	}
	return nil
}

func (s *pgStore) QueryAuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, string, error) {
	query, args, limit, err := auditQuery(f, pgPlaceholder)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: query audit events: %w", err)
	}
	defer rows.Close()
	return readEvents(rows, limit)
}

// AuditUsage aggregates in the database; percentile_cont is the definition the SQLite backend
// reproduces in Go (percentileCont).
func (s *pgStore) AuditUsage(ctx context.Context, by audit.GroupBy, since, until time.Time) ([]audit.Usage, error) {
	col, err := usageColumn(by)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+col+`, count(*),
			count(*) FILTER (WHERE outcome = ANY($4)),
			count(*) FILTER (WHERE outcome = $5),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_us),
			percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_us)
		FROM audit_events WHERE kind = $1 AND time_us >= $2 AND time_us < $3
		GROUP BY `+col+` ORDER BY count(*) DESC, `+col+` COLLATE "C"`,
		string(audit.KindMCP), since.UnixMicro(), until.UnixMicro(), errorOutcomes, denyOutcome)
	if err != nil {
		return nil, fmt.Errorf("store: audit usage: %w", err)
	}
	defer rows.Close()
	var out []audit.Usage
	for rows.Next() {
		var u audit.Usage
		var p50, p95 float64
		if err := rows.Scan(&u.Key, &u.Calls, &u.Errors, &u.Denials, &p50, &p95); err != nil {
			return nil, fmt.Errorf("store: audit usage: %w", err)
		}
		u.P50Millis, u.P95Millis = p50/1000, p95/1000
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit usage: %w", err)
	}
	return out, nil
}

// DeleteAuditEventsBefore deletes the oldest events first, at most limit of them. SKIP LOCKED
// lets the retention sweeps of several replicas delete disjoint batches instead of queueing
// behind each other's row locks.
func (s *pgStore) DeleteAuditEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE time_us < $1 ORDER BY time_us LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		t.UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete audit events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

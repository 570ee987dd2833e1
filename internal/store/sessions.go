package store

import (
	"context"
	"fmt"
	"time"
)

// EndSession records an ended MCP session; ending it again keeps the first record.
func (s *sqlStore) EndSession(ctx context.Context, key string, expires time.Time) error {
	_, err := s.c.exec(ctx, `INSERT INTO ended_sessions (session_key, ended_at, expires_at) VALUES (?, ?, ?) ON CONFLICT (session_key) DO NOTHING`,
		key, time.Now().UnixMicro(), expires.Unix())
	if err != nil {
		return fmt.Errorf("store: end session: %w", err)
	}
	return nil
}

// EndedSessionsSince returns the live records of sessions ended at or after since.
func (s *sqlStore) EndedSessionsSince(ctx context.Context, since time.Time) ([]EndedSession, error) {
	rs, err := s.c.query(ctx, `SELECT session_key, ended_at, expires_at FROM ended_sessions WHERE ended_at >= ? AND expires_at >= ?`,
		since.UnixMicro(), time.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("store: ended sessions: %w", err)
	}
	defer rs.Close()
	return scanEndedSessions(rs)
}

// scanEndedSessions reads every row of an ended_sessions query.
func scanEndedSessions(rs rows) ([]EndedSession, error) {
	var out []EndedSession
	for rs.Next() {
		var e EndedSession
		var ended, expires int64
		if err := rs.Scan(&e.Key, &ended, &expires); err != nil {
			return nil, fmt.Errorf("store: ended sessions: %w", err)
		}
		e.Ended, e.Expires = time.UnixMicro(ended), time.Unix(expires, 0)
		out = append(out, e)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: ended sessions: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
	"time"
)

// EndSession records an ended MCP session; ending it again keeps the first record.
func (s *pgStore) EndSession(ctx context.Context, key string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO ended_sessions (session_key, ended_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT (session_key) DO NOTHING`,
		key, time.Now().UnixMicro(), expires.Unix())
	if err != nil {
		return fmt.Errorf("store: end session: %w", err)
	}
	return nil
}

// EndedSessionsSince returns the live records of sessions ended at or after since.
func (s *pgStore) EndedSessionsSince(ctx context.Context, since time.Time) ([]EndedSession, error) {
	rs, err := s.pool.Query(ctx, `SELECT session_key, ended_at, expires_at FROM ended_sessions WHERE ended_at >= $1 AND expires_at >= $2`,
		since.UnixMicro(), time.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("store: ended sessions: %w", err)
	}
	defer rs.Close()
	return scanEndedSessions(rs)
}

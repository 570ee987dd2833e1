package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PutConnection stores or replaces a user's sealed connector tokens.
func (s *sqlStore) PutConnection(ctx context.Context, c Connection) error {
	_, err := s.c.exec(ctx, `INSERT INTO connector_connections (subject, connector, key_id, sealed, expires_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (subject, connector) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed,
			expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		c.Subject, c.Connector, c.KeyID, c.Sealed, unixOrZero(c.Expires), time.Now().Unix())
	if err != nil {
		return fmt.Errorf("store: put connection: %w", err)
	}
	return nil
}

// Connection reads a user's sealed connector tokens.
func (s *sqlStore) Connection(ctx context.Context, subject, connector string) (Connection, error) {
	row := s.c.queryRow(ctx, `SELECT subject, connector, key_id, sealed, expires_at, updated_at
		FROM connector_connections WHERE subject = ? AND connector = ?`, subject, connector)
	c, err := scanConnection(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Connection{}, ErrNotFound
	}
	return c, err
}

// DeleteConnection forgets a user's connector tokens.
func (s *sqlStore) DeleteConnection(ctx context.Context, subject, connector string) error {
	if _, err := s.c.exec(ctx, `DELETE FROM connector_connections WHERE subject = ? AND connector = ?`, subject, connector); err != nil {
		return fmt.Errorf("store: delete connection: %w", err)
	}
	return nil
}

// ConnectionsOf lists a user's connections by connector name.
func (s *sqlStore) ConnectionsOf(ctx context.Context, subject string) ([]Connection, error) {
	rows, err := s.c.query(ctx, `SELECT subject, connector, key_id, sealed, expires_at, updated_at
		FROM connector_connections WHERE subject = ? ORDER BY connector`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	defer rows.Close()
	return scanConnections(rows)
}

// scanConnection reads one connector_connections row.
func scanConnection(scan func(dest ...any) error) (Connection, error) {
	var c Connection
	var expires, updated int64
	if err := scan(&c.Subject, &c.Connector, &c.KeyID, &c.Sealed, &expires, &updated); err != nil {
		return Connection{}, err
	}
	if expires != 0 {
		c.Expires = time.Unix(expires, 0)
	}
	c.Updated = time.Unix(updated, 0)
	return c, nil
}

// scanConnections reads every row of a connections query.
func scanConnections(rs rows) ([]Connection, error) {
	var out []Connection
	for rs.Next() {
		c, err := scanConnection(rs.Scan)
		if err != nil {
			return nil, fmt.Errorf("store: read connection: %w", err)
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

// unixOrZero stores an unknown time as 0.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

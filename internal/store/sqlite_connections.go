package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PutConnection stores or replaces a user's sealed connector tokens.
func (s *sqliteStore) PutConnection(ctx context.Context, c Connection) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO connector_connections (subject, connector, key_id, sealed, expires_at, updated_at)
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
func (s *sqliteStore) Connection(ctx context.Context, subject, connector string) (Connection, error) {
	row := s.db.QueryRowContext(ctx, `SELECT subject, connector, key_id, sealed, expires_at, updated_at
		FROM connector_connections WHERE subject = ? AND connector = ?`, subject, connector)
	c, err := scanConnection(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Connection{}, ErrNotFound
	}
	return c, err
}

// DeleteConnection forgets a user's connector tokens.
func (s *sqliteStore) DeleteConnection(ctx context.Context, subject, connector string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM connector_connections WHERE subject = ? AND connector = ?`, subject, connector); err != nil {
		return fmt.Errorf("store: delete connection: %w", err)
	}
	return nil
}

// ConnectionsOf lists a user's connections by connector name.
func (s *sqliteStore) ConnectionsOf(ctx context.Context, subject string) ([]Connection, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT subject, connector, key_id, sealed, expires_at, updated_at
		FROM connector_connections WHERE subject = ? ORDER BY connector`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	defer rows.Close()
	return scanConnections(rows)
}

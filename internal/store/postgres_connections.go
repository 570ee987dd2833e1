package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL twin of sqlite_connections.go.

func (s *pgStore) PutConnection(ctx context.Context, c Connection) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO connector_connections (subject, connector, key_id, sealed, expires_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (subject, connector) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed,
			expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		c.Subject, c.Connector, c.KeyID, c.Sealed, unixOrZero(c.Expires), time.Now().Unix())
	if err != nil {
		return fmt.Errorf("store: put connection: %w", err)
	}
	return nil
}

func (s *pgStore) Connection(ctx context.Context, subject, connector string) (Connection, error) {
	row := s.pool.QueryRow(ctx, `SELECT subject, connector, key_id, sealed, expires_at, updated_at
		FROM connector_connections WHERE subject = $1 AND connector = $2`, subject, connector)
	c, err := scanConnection(row.Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return Connection{}, ErrNotFound
	}
	return c, err
}

func (s *pgStore) DeleteConnection(ctx context.Context, subject, connector string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM connector_connections WHERE subject = $1 AND connector = $2`, subject, connector); err != nil {
		return fmt.Errorf("store: delete connection: %w", err)
	}
	return nil
}

func (s *pgStore) ConnectionsOf(ctx context.Context, subject string) ([]Connection, error) {
	rows, err := s.pool.Query(ctx, `SELECT subject, connector, key_id, sealed, expires_at, updated_at
		FROM connector_connections WHERE subject = $1 ORDER BY connector`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	defer rows.Close()
	return scanConnections(rows)
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// sqlStore is the one Store implementation, on either database: its queries are written once,
// in the store's spelling (? parameters, the words that differ taken from d), and c runs them
// through the database's driver.
type sqlStore struct {
	c conn
	d dialect
}

// conn is the little the store needs of a driver: database/sql for SQLite (sqliteConn), pgx for
// PostgreSQL (pgConn). A conn takes queries with ? parameters and spells them as its database
// wants.
type conn interface {
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, query string, args ...any) (rows, error)
	// queryRow's Scan reports no row as an error errors.Is matches with sql.ErrNoRows.
	queryRow(ctx context.Context, query string, args ...any) row
	// execBatch runs query once per element of batch, all in one transaction: all or nothing.
	execBatch(ctx context.Context, query string, batch [][]any) error
	// migrate applies the migrations not applied yet, each once even when several processes
	// open the database at the same time.
	migrate(ctx context.Context, ms []migration) error
	close() error
}

// row is one selected row (*sql.Row, pgx.Row).
type row interface {
	Scan(dest ...any) error
}

// rows is a result set (pgx.Rows, sqlRows).
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// open applies d's migrations through c and returns the store; on failure it closes c.
func open(ctx context.Context, c conn, d dialect) (Store, error) {
	ms, err := migrationsIn(commonMigrations, d.migrations)
	if err == nil {
		err = c.migrate(ctx, ms)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return &sqlStore{c: c, d: d}, nil
}

func (s *sqlStore) Close() error { return s.c.close() }

func (s *sqlStore) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.c.queryRow(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: read secret %q: %w", name, err)
	}
	fresh, err := generate()
	if err != nil {
		return nil, fmt.Errorf("store: generate secret %q: %w", name, err)
	}
	// The first insert wins; everyone, the losers included, then reads the winner's value.
	if _, err := s.c.exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, fresh, time.Now().Unix()); err != nil {
		return nil, fmt.Errorf("store: save secret %q: %w", name, err)
	}
	if err := s.c.queryRow(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("store: read secret %q: %w", name, err)
	}
	return v, nil
}

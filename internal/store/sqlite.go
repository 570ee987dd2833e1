package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	// modernc.org/sqlite is a pure-Go SQLite: `vmcp dev` and single-node installs need no C
	// toolchain and no external database.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// OpenSQLite opens (creating if needed) the SQLite database at path and applies migrations.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	// WAL lets readers proceed during writes; busy_timeout (set first, so that it already
	// applies while another process switches the file to WAL) makes concurrent writers wait
	// instead of failing with SQLITE_BUSY. _txlock=immediate takes the write lock at BEGIN: a deferred
	// transaction that reads and then writes fails with SQLITE_BUSY, without waiting, when
	// another connection wrote in between (WAL snapshots cannot be upgraded).
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := pingWhileBusy(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return open(ctx, sqliteConn{db}, sqliteDialect)
}

// openBusyWait bounds how long opening waits for another process that holds the file.
const openBusyWait = 10 * time.Second

// pingWhileBusy opens the first connection, waiting while another process holds the file: the
// switch to WAL needs the file to itself, and SQLite answers SQLITE_BUSY to it at once, without
// its busy handler, while a second process opens the same new file (replicas or `vmcp dev`
// restarted next to a running one).
func pingWhileBusy(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(openBusyWait)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// sqliteConn is the embedded database through database/sql. SQLite takes the store's ?
// parameters as they are.
type sqliteConn struct {
	db *sql.DB
}

func (c sqliteConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqliteConn) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := c.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

func (c sqliteConn) queryRow(ctx context.Context, query string, args ...any) row {
	return c.db.QueryRowContext(ctx, query, args...)
}

// execBatch prepares query once and runs it for each row inside one (immediate) transaction.
func (c sqliteConn) execBatch(ctx context.Context, query string, batch [][]any) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, args := range batch {
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("row %q: %w", args[0], err)
		}
	}
	return tx.Commit()
}

func (c sqliteConn) close() error { return c.db.Close() }

// migrate applies each pending migration in its own immediate transaction, re-checking inside it,
// so that two processes opening one file at once apply each migration exactly once.
func (c sqliteConn) migrate(ctx context.Context, ms []migration) error {
	if _, err := c.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	for _, m := range ms {
		if err := c.apply(ctx, m); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (c sqliteConn) apply(ctx context.Context, m migration) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.version, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// sqlRows gives *sql.Rows pgx.Rows's Close, which reports nothing: a result set's errors
// surface through Err.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

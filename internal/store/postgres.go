package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	// pgx is the standard, actively maintained PostgreSQL driver for Go: it speaks the native
	// protocol (binary types, no database/sql layer in between) and pgxpool gives each replica
	// a bounded connection pool with health checks.
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLockID is the pg_advisory_lock key that serialises migrations: replicas starting at
// once against one database wait for each other instead of racing to create the same tables.
// (Advisory locks are per database, so other databases on the server are not held up.)
const migrationLockID int64 = 0x766d6370_6d696772 // "vmcpmigr"

// OpenPostgres connects to the PostgreSQL database at dsn (a keyword/value string or a
// postgres:// URL) and applies migrations. Errors never contain the DSN's password.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords in parse errors only on a best-effort basis, and the wrapped
		// url.Error quotes the whole string: say what is wrong without repeating the DSN.
		return nil, errors.New("store: postgres dsn is not a valid keyword/value connection string or postgres:// URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	// pgx's connect errors name host, user and database, never the password.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	return open(ctx, pgConn{pool}, postgresDialect)
}

// pgConn is PostgreSQL through a pgx pool: several replicas share the database. It numbers the
// store's ? parameters as PostgreSQL's $1, $2, ….
//
// Single-use state is taken with one DELETE/UPDATE … RETURNING: under READ COMMITTED a second,
// concurrent statement waits for the first's row lock, re-checks its WHERE clause against the
// committed row and finds nothing, so exactly one caller wins on any replica.
type pgConn struct {
	pool *pgxpool.Pool
}

func (c pgConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.pool.Exec(ctx, numbered(query), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (c pgConn) query(ctx context.Context, query string, args ...any) (rows, error) {
	return c.pool.Query(ctx, numbered(query), args...)
}

// queryRow's Scan reports no row as pgx.ErrNoRows, which is also sql.ErrNoRows to errors.Is.
func (c pgConn) queryRow(ctx context.Context, query string, args ...any) row {
	return c.pool.QueryRow(ctx, numbered(query), args...)
}

// execBatch sends query for every row in one round trip inside one transaction.
func (c pgConn) execBatch(ctx context.Context, query string, batch [][]any) error {
	q := numbered(query)
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, args := range batch {
			b.Queue(q, args...)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

func (c pgConn) close() error {
	c.pool.Close()
	return nil
}

// migrate applies pending migrations under a session-level advisory lock held on one connection.
func (c pgConn) migrate(ctx context.Context, ms []migration) error {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
		return fmt.Errorf("store: migrations: lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must be released even when ctx ended mid-migration, or
		// this pooled connection would keep holding it.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlockCtx, `SELECT pg_advisory_unlock($1)`, migrationLockID); err != nil {
			// Closing the connection ends the session and with it the lock.
			conn.Conn().Close(unlockCtx)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	for _, m := range ms {
		if err := applyPG(ctx, conn.Conn(), m); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

func applyPG(ctx context.Context, conn *pgx.Conn, m migration) error {
	var applied bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.version).Scan(&applied); err != nil {
		return err
	}
	if applied {
		return nil
	}
	// PostgreSQL DDL is transactional: a failing migration leaves no half-made schema.
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Without arguments pgx uses the simple protocol, which runs a file of several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, time.Now().Unix())
		return err
	})
}

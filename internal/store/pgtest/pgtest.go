// Package pgtest gives tests a real PostgreSQL server: the one VMCP_TEST_POSTGRES_DSN names, or
// a throwaway server started from the machine's PostgreSQL binaries (Debian's postgresql
// package; `make test` installs it). Each test gets a database of its own.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvDSN names an existing server to use instead of starting one. Its user needs CREATEDB.
const EnvDSN = "VMCP_TEST_POSTGRES_DSN"

// Server is a PostgreSQL server tests may create databases on.
type Server struct {
	// StartupTime is how long starting the server took (initdb, start, first connection); zero
	// for a server named by VMCP_TEST_POSTGRES_DSN.
	StartupTime time.Duration

	adminDSN string // never printed: an external one may hold a password
	admin    *pgxpool.Pool
	proc     *process // nil for an external server
	next     atomic.Int64
}

// Start connects to the server VMCP_TEST_POSTGRES_DSN names or starts a throwaway one.
func Start(ctx context.Context) (*Server, error) {
	s := &Server{}
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		s.adminDSN = dsn
	} else {
		began := time.Now()
		p, err := startProcess(ctx)
		if err != nil {
			return nil, err
		}
		s.proc, s.adminDSN = p, p.dsn("postgres")
		s.StartupTime = time.Since(began)
	}
	cfg, err := pgxpool.ParseConfig(s.adminDSN)
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("pgtest: %s is not a valid connection string", EnvDSN)
	}
	if s.admin, err = pgxpool.NewWithConfig(ctx, cfg); err == nil {
		err = s.admin.Ping(ctx)
	}
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("pgtest: connect: %w", err)
	}
	return s, nil
}

// Database creates an empty database for t, dropped when t ends, and returns its DSN.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	// The pid keeps names apart when several test binaries share one external server.
	name := fmt.Sprintf("vmcp_test_%d_%d", os.Getpid(), s.next.Add(1))
	ctx := context.Background()
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends sessions a failed test left open (PostgreSQL 13 and later).
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	dsn, err := withDatabase(s.adminDSN, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Log returns what the server wrote so far ("" for an external server).
func (s *Server) Log() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.log.String()
}

// Stop closes the admin connections and stops a server Start started.
func (s *Server) Stop() error {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.proc == nil {
		return nil
	}
	return s.proc.stop()
}

// withDatabase returns dsn pointing at database name instead.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("pgtest: %s is not a valid URL", EnvDSN)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// Lazy starts one server for a whole test binary, on first use, and lets TestMain stop it:
//
//	var pg pgtest.Lazy
//	func TestMain(m *testing.M) { code := m.Run(); pg.Stop(code != 0, os.Stderr); os.Exit(code) }
type Lazy struct {
	once sync.Once
	srv  *Server
	err  error
}

// Server returns the shared server, starting it on first use; a server that cannot start fails
// t — it never skips, so a machine without PostgreSQL cannot pass for a green run.
func (l *Lazy) Server(t testing.TB) *Server {
	t.Helper()
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		l.srv, l.err = Start(ctx)
		if l.err == nil && l.srv.proc != nil {
			t.Logf("pgtest: PostgreSQL started in %v", l.srv.StartupTime.Round(time.Millisecond))
		}
	})
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.srv
}

// Stop stops the server if one was started, writing its log to w when the tests failed.
func (l *Lazy) Stop(failed bool, w io.Writer) {
	if l.srv == nil {
		return
	}
	if failed {
		if log := l.srv.Log(); log != "" {
			fmt.Fprintf(w, "--- PostgreSQL log ---\n%s--- end of PostgreSQL log ---\n", log)
		}
	}
	if err := l.srv.Stop(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		fmt.Fprintf(w, "pgtest: stop: %v\n", err)
	}
}

// ping reports whether a server accepts connections at dsn.
func ping(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

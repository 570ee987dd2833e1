package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/store/pgtest"
	"github.com/vmcp-dev/vmcp/internal/store/storetest"
)

// pg is one PostgreSQL server for the whole package, started by the first test that needs it.
var pg pgtest.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop(code != 0, os.Stderr)
	os.Exit(code)
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) func(context.Context) (store.Store, error) {
		path := filepath.Join(t.TempDir(), "vmcp.db")
		return func(ctx context.Context) (store.Store, error) { return store.OpenSQLite(ctx, path) }
	})
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	srv := pg.Server(t)
	storetest.Run(t, func(t *testing.T) func(context.Context) (store.Store, error) {
		dsn := srv.Database(t)
		return func(ctx context.Context) (store.Store, error) { return store.OpenPostgres(ctx, dsn) }
	})
}

func TestOpenChoosesTheConfiguredBackend(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	pgDSN := pg.Server(t).Database(t)
	for _, tc := range []struct {
		name    string
		store   config.Store
		wantErr string
	}{
		{name: "sqlite opens vmcp.db in the data directory", store: config.Store{Driver: "sqlite"}},
		{name: "postgres opens the database the dsn names", store: config.Store{Driver: "postgres", DSN: config.NewSecret("${env:VMCP_DATABASE_URL}", pgDSN)}},
		{name: "an unknown driver is refused", store: config.Store{Driver: "mysql"}, wantErr: `driver "mysql"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Store: tc.store}
			cfg.Server.DataDir = dataDir
			db, err := store.Open(t.Context(), cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Secret(t.Context(), "k", func() ([]byte, error) { return []byte("v"), nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dataDir, "vmcp.db")); err != nil {
		t.Fatalf("sqlite did not use data_dir/vmcp.db: %v", err)
	}
}

func TestOpenPostgresErrorsNeverContainThePassword(t *testing.T) {
	t.Parallel()
	const password = "s3cret-Passw0rd"
	for _, tc := range []struct{ name, dsn string }{
		{"a URL that does not parse", "postgres://vmcp:" + password + "@[::1/db"},
		{"a keyword string that does not parse", "host=127.0.0.1 password='" + password},
		{"a server that refuses the connection", "postgres://vmcp:" + password + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"},
		{"a keyword string for a server that refuses", "host=127.0.0.1 port=1 user=vmcp password=" + password + " sslmode=disable connect_timeout=5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.OpenPostgres(t.Context(), tc.dsn)
			if err == nil {
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), password) {
				t.Fatal("the error contains the DSN's password")
			}
		})
	}
}

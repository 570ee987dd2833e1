package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
	"github.com/vmcp-dev/vmcp/internal/store/pgtest"
)

type mcpSession struct{ *mcp.ClientSession }

// tryConnect is connect for polling loops: it returns the error instead of failing the test.
func tryConnect(url, token string) (*mcpSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: edgeclient.Bearer{Token: token, Base: http.DefaultTransport}},
	}, nil)
	if err != nil {
		return nil, err
	}
	return &mcpSession{cs}, nil
}

func writeFile(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// postgresStore starts a PostgreSQL server for the test and returns the store section that
// points vmcp at a fresh database on it.
func postgresStore(t *testing.T) harness.Store {
	t.Helper()
	pg, err := pgtest.Start(context.Background())
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PostgreSQL log:\n%s", pg.Log())
		}
		pg.Stop()
	})
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte(pg.Database(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	return harness.Store{Driver: "postgres", DSN: "${file:" + dsnFile + "}"}
}

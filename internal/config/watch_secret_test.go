package config

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

// Rotating a credential in its secret file reloads the configuration, though the configuration
// file itself did not change; the secret lives in another directory, as mounted secrets do.
func TestRotatingASecretFileReloadsTheConfiguration(t *testing.T) {
	confDir, secretDir := t.TempDir(), t.TempDir()
	secret := filepath.Join(secretDir, "notes-token")
	if err := os.WriteFile(secret, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(confDir, "vmcp.yaml")
	data := []byte("connectors:\n  - name: notes\n    url: http://127.0.0.1:19001/mcp\n    credential: {type: bearer, token: \"${file:" + secret + "}\"}\nvirtual_servers:\n  - name: demo\n    connectors: [notes]\n")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	applied := make(chan *Config, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	go watch(ctx, path, data, zap.NewNop(), func(c *Config) error { applied <- c; return nil }, func() { close(ready) })
	<-ready

	renameInto(t, secret, []byte("second-token\n"))
	select {
	case c := <-applied:
		if got := c.Connectors[0].Credential.Token.Value(); got != "second-token" {
			t.Fatalf("reloaded token is %q, want the rotated one", got)
		}
	case <-time.After(watchDeadline):
		t.Fatal("rotating the secret file did not reload the configuration")
	}
}

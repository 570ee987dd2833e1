package gateway

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/config"
)

func loadConnectors(t *testing.T, connectors string) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte("connectors:\n"+connectors+"virtual_servers:\n  - name: demo\n    connectors: [a]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func urls(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for _, c := range cfg.Connectors {
		out[c.Name] = c.URL
	}
	return out
}

// refused polls until nothing listens at url any more: its bridge has been stopped.
func refused(t *testing.T, url string) {
	t.Helper()
	harness.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return nil
		}
		resp.Body.Close()
		return fmt.Errorf("%s still answers", url)
	})
}

func TestReloadsRestartOnlyTheCommandConnectorsThatChanged(t *testing.T) {
	s := newStdioConnectors(zap.NewNop(), "test")
	t.Cleanup(s.stopAll)
	// Processes that never answer initialize: this test is about which bridges run, not MCP.
	first := loadConnectors(t, `  - {name: a, command: [sleep, "300"]}
  - {name: b, command: [sleep, "301"]}
  - {name: u, url: "http://127.0.0.1:9/mcp"}
`)
	got, commit, _, err := s.prepare(first)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	one := urls(got)
	for _, name := range []string{"a", "b"} {
		if !strings.HasPrefix(one[name], "http://127.0.0.1:") || !strings.HasSuffix(one[name], "/mcp") {
			t.Errorf("connector %s points at %q, want its loopback bridge", name, one[name])
		}
	}
	if one["u"] != "http://127.0.0.1:9/mcp" {
		t.Errorf("the url connector became %q", one["u"])
	}
	if first.Connectors[0].URL != "" {
		t.Error("prepare changed the configuration it was given")
	}
	if c := got.Connectors[0].Credential; c.Type != config.CredentialBearer || len(c.Token.Value()) != 64 {
		t.Errorf("a command connector's credential is %+v, want a generated bearer token", c)
	}

	// a is unchanged, b's arguments changed: only b gets a new process.
	second := loadConnectors(t, `  - {name: a, command: [sleep, "300"]}
  - {name: b, command: [sleep, "302"]}
`)
	got, commit, _, err = s.prepare(second)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	two := urls(got)
	if two["a"] != one["a"] {
		t.Errorf("the unchanged connector moved from %s to %s", one["a"], two["a"])
	}
	if two["b"] == one["b"] {
		t.Error("the changed connector kept its old process")
	}
	refused(t, one["b"])

	// A reload another component refuses rolls back: the bridge it started stops, the
	// running ones stay.
	third := loadConnectors(t, `  - {name: a, command: [sleep, "300"]}
  - {name: b, command: [sleep, "302"]}
  - {name: c, command: [sleep, "303"]}
`)
	got, _, rollback, err := s.prepare(third)
	if err != nil {
		t.Fatal(err)
	}
	rollback()
	refused(t, urls(got)["c"])
	if len(s.running) != 2 {
		t.Errorf("%d bridges running after a rollback, want 2", len(s.running))
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

func TestProtectedResourceMetadataIsServedWithoutAToken(t *testing.T) {
	s := startSystem(t)
	resp, err := http.Get(s.edge + "/.well-known/oauth-protected-resource/v/demo/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		t.Fatalf("metadata: HTTP %d", resp.StatusCode)
	}
	if doc.Resource != s.url("demo") || len(doc.AuthorizationServers) == 0 {
		t.Errorf("metadata = %+v, want resource %s", doc, s.url("demo"))
	}
}

func TestGroupAccessAndLivePolicyEdits(t *testing.T) {
	s := startSystem(t)
	policyDir := filepath.Join(s.dir, "policies")
	if err := os.MkdirAll(policyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	defaults, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "policies", "authz.rego"))
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(policyDir, "authz.rego")
	if err := os.WriteFile(policyFile, defaults, 0o600); err != nil {
		t.Fatal(err)
	}
	s.config.Auth.Policies = policyDir
	s.writeConfig(harness.VirtualServer{Name: "ops", Connectors: []string{"weather"}, Extra: "access: {groups: [sre]}"})

	var sre, eng string
	harness.Eventually(t, 10*time.Second, func() error {
		sre = s.token("bob", "ops", "--groups", "sre")
		if code, _ := post(t, s.url("ops"), sre); code != http.StatusOK {
			return fmt.Errorf("sre member on ops: HTTP %d", code)
		}
		return nil
	})
	eng = s.token("alice", "ops", "--groups", "eng")
	if code, _ := post(t, s.url("ops"), eng); code != http.StatusForbidden {
		t.Fatalf("a caller outside the allowed groups got HTTP %d, want 403", code)
	}

	// The security team edits the policy file; vmcp picks it up without a restart.
	closed := "package vmcp.authz\nimport rego.v1\ndecision := {\"allow\": false, \"reason\": \"closed\", \"scope\": \"mcp:ops\"}\n"
	if err := harness.WriteFile(policyFile, closed); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		code, challenge := post(t, s.url("ops"), sre)
		if code != http.StatusForbidden || !strings.Contains(challenge, `insufficient_scope`) {
			return fmt.Errorf("after the policy edit: HTTP %d %q", code, challenge)
		}
		return nil
	})
}

// curatedServer renames one of notes' tools, hides another, and lets only forecasters call
// weather's.
var curatedServer = harness.VirtualServer{Name: "curated", Extra: `connectors:
  - name: notes
    tools:
      add_note: {name: write_note, description: "Write a note for the team."}
      get_note: {hidden: true}
  - weather
access:
  tools:
    "weather__*": [forecasters]
`}

func TestToolRenamesHidingAndToolPolicyThroughEnvoy(t *testing.T) {
	s := startSystem(t)
	s.reload(func() { s.writeConfig(curatedServer) })
	reader := connect(t, s.url("curated"), s.token("carol", "curated", "--groups", "readers"))
	names := toolNames(t, reader)
	for _, want := range []string{"notes__write_note", "notes__list_notes"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list lacks %s: %v", want, names)
		}
	}
	for _, unwanted := range []string{"notes__add_note", "notes__get_note", "weather__get_forecast"} {
		if slices.Contains(names, unwanted) {
			t.Errorf("tools/list shows %s to a reader: %v", unwanted, names)
		}
	}
	if res := callTool(t, reader, "notes__write_note", map[string]any{"title": "t", "body": "b"}); res.IsError {
		t.Fatalf("the renamed tool failed: %v", res.Content)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := reader.CallTool(ctx, &mcp.CallToolParams{Name: "weather__get_forecast", Arguments: map[string]any{"city": "Oslo", "days": 1}}); err == nil || !strings.Contains(err.Error(), "denied by policy") {
		t.Errorf("a reader called a forecasters-only tool: %v", err)
	}
	if _, err := reader.CallTool(ctx, &mcp.CallToolParams{Name: "notes__get_note", Arguments: map[string]any{"id": "note-1"}}); err == nil {
		t.Error("a hidden tool was callable by its name")
	}

	forecaster := connect(t, s.url("curated"), s.token("dan", "curated", "--groups", "forecasters"))
	if names := toolNames(t, forecaster); !slices.Contains(names, "weather__get_forecast") {
		t.Errorf("a forecaster does not see the forecast tool: %v", names)
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// everythingServer is the go-sdk's own server for the MCP conformance suite: every tool,
// resource and prompt the suite's server scenarios call.
const everythingServer = "github.com/modelcontextprotocol/go-sdk/conformance/everything-server"

// TestConformanceSuiteAgainstAVirtualServer runs the MCP conformance suite's server scenarios
// (@modelcontextprotocol/conformance) against a virtual server whose only connector is the
// go-sdk conformance server, with prefix mode never so the suite finds the names it expects.
// The suite exits non-zero on a scenario failing that is not in e2e/peers/conformance-baseline.yml
// and on one passing that is (a stale baseline), so the pass count recorded in README.md
// can only go up.
func TestConformanceSuiteAgainstAVirtualServer(t *testing.T) {
	dir := peersDir(t)
	addr := harness.FreeAddr(t)
	harness.Start(t, "everything-server", nil, harness.Build(t, everythingServer), "-http", addr, "-stateless=false")
	harness.WaitTCP(t, addr)

	s := startSystemOpts(t, systemOpts{connectors: fmt.Sprintf("  - name: everything\n    url: http://%s/mcp\n    timeout: 10s\n", addr)})
	s.reload(func() {
		s.writeConfig("  - name: conf\n    connectors: [everything]\n    prefix: {mode: never}\n")
	})
	target := bearerProxy(t, s.edge, s.token("alice", "conf")) + "/v/conf/mcp"

	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node22(dir), filepath.Join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js"),
		"server", "--url", target, "--expected-failures", filepath.Join(dir, "conformance-baseline.yml"), "-o", out)
	cmd.Dir = dir
	output, runErr := cmd.CombinedOutput()

	passed, failed := tallyChecks(t, out)
	t.Logf("conformance checks through vmcp: %d passed, %d failed \nfailed:\n  %s", len(passed), len(failed), strings.Join(failed, "\n  "))
	if runErr != nil {
		t.Fatalf("conformance suite: %v (a scenario outside the baseline failed, or a baseline entry now passes)\n%s", runErr, tail(string(output), 6000))
	}
	if len(passed) == 0 {
		t.Fatalf("no conformance check passed; the suite said:\n%s", tail(string(output), 6000))
	}
}

// tallyChecks reads every checks.json the suite wrote and returns the scenario/check ids that
// passed and failed (warnings and info count as neither).
func tallyChecks(t *testing.T, dir string) (passed, failed []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var checks []struct {
			ID           string `json:"id"`
			Status       string `json:"status"`
			ErrorMessage string `json:"errorMessage"`
		}
		if err := json.Unmarshal(data, &checks); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// Result directories are named server-<scenario>-<timestamp>.
		scenario := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "server-")
		if i := strings.Index(scenario, "-20"); i > 0 {
			scenario = scenario[:i]
		}
		for _, c := range checks {
			id := scenario + "/" + c.ID
			switch c.Status {
			case "SUCCESS":
				passed = append(passed, id)
			case "FAILURE":
				failed = append(failed, id+" ("+c.ErrorMessage+")")
			}
		}
	}
	sort.Strings(failed)
	return passed, failed
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

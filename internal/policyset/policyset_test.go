package policyset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func decide(t *testing.T, set *Set, query string) (Decision, error) {
	t.Helper()
	pq, err := set.Prepare(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	input, _ := ast.InterfaceToValue(map[string]any{"subject": "alice", "virtual_server": map[string]any{"name": "x"}, "tool": map[string]any{"exposed": "a__b"}})
	return pq.Decide(context.Background(), input)
}

func TestAPartialPolicyDirectoryKeepsTheDefaultsOfWhatItLeavesOut(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "mine.rego", "package vmcp.authz\nimport rego.v1\ndecision := {\"allow\": false, \"reason\": \"mine\"}\n")
	write(t, dir, "mine_test.rego", "package vmcp.authz_test\nthis does not even parse")
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := decide(t, set, "data.vmcp.authz.decision"); err != nil || d.Allow || d.Reason != "mine" {
		t.Errorf("authz = %+v, %v; want the operator's policy", d, err)
	}
	if d, err := decide(t, set, "data.vmcp.tools.decision"); err != nil || !d.Allow {
		t.Errorf("tools = %+v, %v; want the default policy, which allows unrestricted tools", d, err)
	}
}

func TestMalformedDecisionsAreErrors(t *testing.T) {
	for name, src := range map[string]string{
		"undefined":        "package vmcp.authz\nimport rego.v1\ndecision := 1 if { false }\n",
		"not an object":    "package vmcp.authz\ndecision := \"yes\"\n",
		"allow not a bool": "package vmcp.authz\ndecision := {\"allow\": \"true\"}\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "p.rego", src)
			set, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := decide(t, set, "data.vmcp.authz.decision"); err == nil || d.Allow {
				t.Errorf("a malformed decision gave %+v, %v; want an error", d, err)
			}
		})
	}
}

func TestAPolicyThatDoesNotCompileIsRefusedNamingItsSource(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.rego", "package vmcp.authz\ndecision := {")
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Prepare(context.Background(), "data.vmcp.authz.decision"); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Prepare = %v, want an error naming %s", err, dir)
	}
}

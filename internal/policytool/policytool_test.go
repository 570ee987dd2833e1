package policytool

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
)

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsUnformattedFilesWithADiffAndStrictErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ugly.rego", "package vmcp.tools\nimport rego.v1\ndecision := {\"allow\": true,   \"reason\": \"ok\"}\n")
	write(t, dir, "unused.rego", "package vmcp.authz\n\nimport rego.v1\n\nimport data.vmcp.tools\n\ndecision := {\"allow\": true, \"reason\": \"ok\"}\n")
	var out strings.Builder
	err := Check(&out, dir)
	if err == nil {
		t.Fatalf("Check passed:\n%s", out.String())
	}
	got := out.String()
	if !strings.Contains(got, "ugly.rego: not formatted") || !strings.Contains(got, "-decision := {\"allow\": true,   \"reason\": \"ok\"}") {
		t.Errorf("no diff for the unformatted file:\n%s", got)
	}
	if !strings.Contains(got, "unused.rego") || !strings.Contains(got, "import data.vmcp.tools unused") {
		t.Errorf("strict mode did not flag the unused import:\n%s", got)
	}
}

func TestTestFailsOnAFailingRegoTest(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "p.rego", "package p\n\nimport rego.v1\n\nx := 1\n")
	write(t, dir, "p_test.rego", "package p_test\n\nimport rego.v1\n\nimport data.p\n\ntest_one if p.x == 1\n\ntest_two if p.x == 2\n")
	var out strings.Builder
	if err := Test(context.Background(), &out, dir); err == nil || !strings.Contains(out.String(), "test_two: FAIL") {
		t.Fatalf("Test = %v\n%s", err, out.String())
	}
}

func TestEvalNamesTheElseBranchThatDecided(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "tools.rego", `package vmcp.tools

import rego.v1

decision := {"allow": true, "reason": "admin"} if {
	"admins" in input.groups
} else := {"allow": false, "reason": "args"} if {
	input.arguments.dangerous
} else := {"allow": true, "reason": "default"}
`)
	cfg := &config.Config{VirtualServers: []config.VirtualServer{{Name: "demo", Path: "/v/demo/mcp",
		Connectors: []config.ConnectorRef{{Name: "notes"}}, Prefix: config.Prefix{Mode: "always", Separator: "__"}}}}
	set, err := policyset.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q        Question
		allow    bool
		ruleLine string
	}{
		{Question{User: "a", Groups: []string{"admins"}, VirtualServer: "demo", Tool: "notes__x"}, true, ":5:"},
		{Question{User: "a", VirtualServer: "demo", Tool: "notes__x", Arguments: map[string]any{"dangerous": true}}, false, ":7:"},
		{Question{User: "a", VirtualServer: "demo", Tool: "notes__x"}, true, ":9:"},
	} {
		a, err := Eval(context.Background(), cfg, set, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Allow != tc.allow || !strings.Contains(a.Rule, tc.ruleLine) {
			t.Errorf("%+v: allow %v rule %q; want %v at line %s", tc.q, a.Allow, a.Rule, tc.allow, tc.ruleLine)
		}
	}
}

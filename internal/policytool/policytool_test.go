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

// `vmcp policy eval` with the default policies: a restriction covering a connector's prefix
// covers every tool of it, whatever tool-name characters (MCP 2025-11-25: letters, digits, "_",
// "-", "."; SEP-986: "/") its name holds — listed or called, an outsider is denied, a member let in.
func TestAPrefixRestrictionCoversToolsWithEveryToolNameCharacter(t *testing.T) {
	cfg := &config.Config{VirtualServers: []config.VirtualServer{{Name: "demo", Path: "/v/demo/mcp",
		Connectors: []config.ConnectorRef{{Name: "echo"}, {Name: "notes"}}, Prefix: config.Prefix{Mode: "always", Separator: "__"},
		Access: config.Access{Tools: map[string][]string{"echo__*": {"eng"}}}}}}
	set, err := policyset.Load("")
	if err != nil {
		t.Fatal(err)
	}
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./"
	for _, c := range chars {
		for _, tool := range []string{"echo__" + string(c), "echo__admin" + string(c) + "purge", "echo__" + string(c) + "x" + string(c)} {
			for _, action := range []string{"call", "list"} {
				q := Question{User: "mallory", Groups: []string{"sales"}, VirtualServer: "demo", Tool: tool, Action: action}
				a, err := Eval(context.Background(), cfg, set, q)
				if err != nil {
					t.Fatalf("%s %s: %v", action, tool, err)
				}
				if a.Allow {
					t.Errorf("%s %s: allowed to an outsider (%s)", action, tool, a.Reason)
				}
				q.Groups = []string{"eng"}
				if a, err = Eval(context.Background(), cfg, set, q); err != nil || !a.Allow {
					t.Errorf("%s %s: a member was denied: %v %s", action, tool, err, a.Reason)
				}
			}
		}
	}
	// Another connector's tools stay open.
	if a, err := Eval(context.Background(), cfg, set, Question{User: "mallory", VirtualServer: "demo", Tool: "notes__a.b"}); err != nil || !a.Allow {
		t.Errorf("notes__a.b: %v %+v", err, a)
	}
}

// `vmcp policy eval --resource/--resource-template/--prompt` asks vmcp.connectors, as extproc
// (read) and the aggregator (list) do: access.connectors closes every primitive of a connector.
func TestEvalAsksTheConnectorsPolicyAboutResourcesAndPrompts(t *testing.T) {
	cfg := &config.Config{VirtualServers: []config.VirtualServer{{Name: "demo", Path: "/v/demo/mcp",
		Connectors: []config.ConnectorRef{{Name: "notes"}, {Name: "weather"}}, Prefix: config.Prefix{Mode: "always", Separator: "__"},
		Access: config.Access{Connectors: map[string][]string{"notes": {"eng"}}}}}}
	set, err := policyset.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []Question{
		{Primitive: "resource", Name: "notes://all", Connector: "notes"},
		{Primitive: "resource_template", Name: "notes://{id}", Connector: "notes", Action: "list"},
		{Primitive: "prompt", Name: "notes__summarize_notes"},
	} {
		q.User, q.VirtualServer, q.Groups = "mallory", "demo", []string{"sales"}
		a, err := Eval(context.Background(), cfg, set, q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Allow || a.Query != "data.vmcp.connectors.decision" || !strings.Contains(a.Reason, "connector notes is restricted") {
			t.Errorf("%+v: %+v, want a denial by data.vmcp.connectors.decision", q, a)
		}
		q.Groups = []string{"eng"}
		if a, err = Eval(context.Background(), cfg, set, q); err != nil || !a.Allow {
			t.Errorf("%+v for a member: %v %+v", q, err, a)
		}
	}
	if _, err := Eval(context.Background(), cfg, set, Question{User: "u", VirtualServer: "demo", Primitive: "resource", Name: "notes://all"}); err == nil {
		t.Error("a resource without --connector was answered")
	}
}

package policies_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

// The JSON Schema of the input documents (input.schema.json) is validated with
// github.com/google/jsonschema-go: the Go team's implementation of draft 2020-12, already in our
// build as the MCP go-sdk's schema library, actively maintained, with no dependencies of its own.

// schemaFor resolves input.schema.json, or one of its $defs ("authz", "tools").
func schemaFor(t *testing.T, def string) *jsonschema.Resolved {
	t.Helper()
	raw, err := os.ReadFile("input.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if def != "" {
		s.OneOf, s.Ref = nil, "#/$defs/"+def
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// realInputs are inputs built by the code that builds them live: authz's input builder and
// toolpolicy's, for a virtual server with access rules, for both tool actions.
func realInputs(t *testing.T) map[string]any {
	t.Helper()
	cfg := &config.Config{}
	cfg.Server.PublicURL = "https://mcp.example.com"
	cfg.Auth.Issuer = "https://mcp.example.com"
	cfg.VirtualServers = []config.VirtualServer{{Name: "demo", Path: "/v/demo/mcp", Access: config.Access{
		Groups: []string{"eng"}, Roles: []string{"admin"}, Tools: map[string][]string{"notes__*": {"eng"}},
		Connectors: map[string][]string{"weather": {"forecasters"}},
	}}}
	authzIn, err := authz.DryRunInput(cfg, "demo", authz.DryRunCaller{Subject: "alice", Email: "alice@example.com", ClientID: "c", Groups: []string{"eng"}, MCPMethod: "tools/call"})
	if err != nil {
		t.Fatal(err)
	}
	scope := toolpolicy.NewScope(toolpolicy.Caller{Subject: "alice", Email: "alice@example.com", ClientID: "c", Groups: []string{"eng"}},
		toolpolicy.NewVirtualServer("demo", cfg.VirtualServers[0].Access))
	out := map[string]any{"authz": jsonOf(t, authzIn)}
	for name, in := range map[string]toolpolicy.Input{
		"tools list": {Action: toolpolicy.ActionList, Scope: scope, Connector: "notes", Tool: "add_note", Exposed: "notes__add_note"},
		"tools call": {Action: toolpolicy.ActionCall, Scope: scope, Connector: "notes", Tool: "add_note", Exposed: "notes__add_note",
			Arguments: map[string]any{"title": "t", "tags": []any{"a"}}},
	} {
		v, err := in.Value()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = jsonOf(t, v)
	}
	for name, in := range map[string]toolpolicy.PrimitiveInput{
		"connectors list": {Action: toolpolicy.ActionList, Primitive: toolpolicy.PrimitiveResourceTemplate, Scope: scope, Connector: "notes", Name: "notes://{id}"},
		"connectors read": {Action: toolpolicy.ActionRead, Primitive: toolpolicy.PrimitivePrompt, Scope: scope, Connector: "notes", Name: "notes__summarize_notes"},
	} {
		out[name] = jsonOf(t, in.Value())
	}
	return out
}

func jsonOf(t *testing.T, v ast.Value) any {
	t.Helper()
	j, err := ast.JSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestRealInputsMatchTheDocumentedSchema(t *testing.T) {
	root := schemaFor(t, "")
	for name, in := range realInputs(t) {
		def := strings.Fields(name)[0]
		if err := schemaFor(t, def).Validate(in); err != nil {
			t.Errorf("%s input does not match $defs/%s: %v\n%v", name, def, err, in)
		}
		if err := root.Validate(in); err != nil {
			t.Errorf("%s input does not match the schema: %v", name, err)
		}
	}
}

func TestTheSchemaRejectsAnInputWithAnUndocumentedField(t *testing.T) {
	in := realInputs(t)["tools call"].(map[string]any)
	in["token"] = "secret"
	if err := schemaFor(t, "tools").Validate(in); err == nil {
		t.Error("an input with an undocumented field passed: the schema would not notice drift")
	}
	delete(in, "token")
	in["action"] = "delete"
	if err := schemaFor(t, "tools").Validate(in); err == nil {
		t.Error("an unknown action passed")
	}
}

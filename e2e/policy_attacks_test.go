package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// echoConnector is a plain streamable-HTTP MCP server whose tool names use every separator MCP
// allows ("admin.purge", "admin/purge"), that matches tool names case-insensitively as some
// servers do, and that has a resource, a resource template and a prompt. It records every
// method (and tool, prompt or resource) that reaches it, so a test can tell what vmcp let through.
type echoConnector struct {
	mu   sync.Mutex
	seen []string
}

var echoTools = []string{"echo", "admin.purge", "admin/purge", "wipe_all"}

func (c *echoConnector) reached() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func (c *echoConnector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name            string `json:"name"`
			URI             string `json:"uri"`
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"params"`
	}
	body, _ := io.ReadAll(r.Body)
	if json.Unmarshal(body, &req) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.seen = append(c.seen, strings.TrimSpace(req.Method+" "+req.Params.Name+req.Params.URI))
	c.mu.Unlock()
	if len(req.ID) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var result any
	switch req.Method {
	case "initialize":
		result = map[string]any{"protocolVersion": req.Params.ProtocolVersion, "serverInfo": map[string]any{"name": "echo", "version": "1"},
			"capabilities": map[string]any{"tools": map[string]any{}, "resources": map[string]any{}, "prompts": map[string]any{}}}
	case "ping":
		result = map[string]any{}
	case "tools/list":
		var tools []any
		for _, n := range echoTools {
			tools = append(tools, map[string]any{"name": n, "description": "runs " + n, "inputSchema": map[string]any{"type": "object"}})
		}
		result = map[string]any{"tools": tools}
	case "tools/call":
		for _, n := range echoTools {
			// Case-insensitive, as some servers match tool names.
			if strings.EqualFold(n, req.Params.Name) {
				result = map[string]any{"content": []any{map[string]any{"type": "text", "text": "ran " + n}}}
			}
		}
	case "resources/list":
		result = map[string]any{"resources": []any{map[string]any{"uri": "echo://secret", "name": "secret", "mimeType": "text/plain"}}}
	case "resources/templates/list":
		result = map[string]any{"resourceTemplates": []any{map[string]any{"uriTemplate": "echo-item://{id}", "name": "item"}}}
	case "resources/read":
		result = map[string]any{"contents": []any{map[string]any{"uri": req.Params.URI, "mimeType": "text/plain", "text": "the secret of " + req.Params.URI}}}
	case "prompts/list":
		result = map[string]any{"prompts": []any{map[string]any{"name": "secret_prompt", "description": "a prompt"}}}
	case "prompts/get":
		result = map[string]any{"messages": []any{map[string]any{"role": "user", "content": map[string]any{"type": "text", "text": "the secret prompt"}}}}
	}
	w.Header().Set("Content-Type", "application/json")
	if result == nil {
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32602, "message": "unknown " + req.Method + " target"}})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
}

// startEchoSystem starts vmcp, on the test configuration changed by edits, with the echo
// connector and virtual server guarded (named so whatever its Name), and returns the system and
// the connector.
func startEchoSystem(t *testing.T, guarded harness.VirtualServer, edits ...func(*harness.Config)) (*system, *echoConnector) {
	t.Helper()
	echo := &echoConnector{}
	s := startSystem(t, edits...)
	s.addConnector(harness.Connector{Name: "echo", Timeout: 5 * time.Second}, echo)
	guarded.Name = "guarded"
	s.reload(func() { s.writeConfig(guarded) })
	harness.Eventually(t, 10*time.Second, func() error {
		if code, _ := post(t, s.url("guarded"), s.token("probe", "guarded", "--groups", "eng")); code != 200 {
			return fmt.Errorf("guarded not served yet: HTTP %d", code)
		}
		return nil
	})
	return s, echo
}

// A restriction on a connector's prefix ("echo__*") covers every tool of it, including tools whose
// names hold "." or "/": OPA's glob.match with [] delimiters stops "*" at ".", which left
// echo__admin.purge listed and callable by everyone.
func TestAPrefixRestrictionCoversToolNamesWithDotsAndSlashes(t *testing.T) {
	s, echo := startEchoSystem(t, harness.VirtualServer{Connectors: []string{"echo"}, Extra: "access:\n  tools:\n    \"echo__*\": [admins]\n"})
	outsider := s.token("mallory", "guarded", "--groups", "eng")
	if names := listed(t, s.url("guarded"), outsider, "tools/list", "tools", "name"); len(names) != 0 {
		t.Errorf("an outsider sees restricted tools: %v", names)
	}
	for _, tool := range []string{"echo__admin.purge", "echo__admin/purge", "echo__echo"} {
		status, _, body := rawRPC(t, s.url("guarded"), outsider, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tool+`","arguments":{}}}`, nil)
		if code, msg := rpcErrorOf(body); status != 200 || code != -32003 {
			t.Errorf("%s by an outsider: HTTP %d, error %d %q: %s; want -32003 denied by policy", tool, status, code, msg, body)
		}
	}
	for _, seen := range echo.reached() {
		if strings.HasPrefix(seen, "tools/call") {
			t.Errorf("the connector ran %q for an outsider", seen)
		}
	}
	admin := s.token("root", "guarded", "--groups", "admins")
	if names := listed(t, s.url("guarded"), admin, "tools/list", "tools", "name"); len(names) != len(echoTools) {
		t.Errorf("an admin sees %v, want all %d echo tools", names, len(echoTools))
	}
	status, _, body := rawRPC(t, s.url("guarded"), admin, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo__admin.purge","arguments":{}}}`, nil)
	if !strings.Contains(string(body), "ran admin.purge") {
		t.Errorf("an admin's call: HTTP %d %s", status, body)
	}
}

// An access policy that denies tools/call by input.mcp.method (the Mcp-Method header) cannot be
// passed by a 2025-11-25 request whose header claims another method: extproc holds the header to
// the body on every revision and refuses the mismatch (400, -32020) before any connector sees it.
func TestAnMcpMethodHeaderThatLiesIsRefusedOnEveryRevision(t *testing.T) {
	dir := t.TempDir()
	policy := `package vmcp.authz

import rego.v1

decision := {"allow": false, "reason": "this virtual server is read-only"} if {
	input.mcp.method == "tools/call"
} else := {"allow": true, "reason": "read-only access"}
`
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	s, echo := startEchoSystem(t, harness.VirtualServer{Connectors: []string{"echo"}}, func(c *harness.Config) { c.Auth.Policies = dir })
	token := s.token("mallory", "guarded", "--groups", "eng")
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo__admin.purge","arguments":{}}}`
	if status, _, body := rawRPC(t, s.url("guarded"), token, call, map[string]string{"Mcp-Method": "tools/call"}); status != http.StatusForbidden {
		t.Errorf("an honest header: HTTP %d %s, want 403 from the policy", status, body)
	}
	for _, version := range []string{"2025-11-25", "2025-06-18", "2025-03-26"} {
		for _, claim := range []string{"tools/list", ""} {
			status, _, body := rawRPC(t, s.url("guarded"), token, call, map[string]string{"MCP-Protocol-Version": version, "Mcp-Method": claim})
			if code, msg := rpcErrorOf(body); status != http.StatusBadRequest || code != -32020 {
				t.Errorf("%s, Mcp-Method %q: HTTP %d, error %d %q: %s; want 400 with -32020", version, claim, status, code, msg, body)
			}
		}
	}
	// A notification that claims to be a call is refused too (it has a body method to compare).
	if status, _, body := rawRPC(t, s.url("guarded"), token, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, map[string]string{"Mcp-Method": "tools/list"}); status != http.StatusBadRequest {
		t.Errorf("a notification claiming tools/list: HTTP %d %s", status, body)
	}
	for _, seen := range echo.reached() {
		if strings.HasPrefix(seen, "tools/call") {
			t.Errorf("the connector ran %q", seen)
		}
	}
	// A matching header on a method the policy allows is served.
	if names := listedWith(t, s.url("guarded"), token, "tools/list", "tools", "name", map[string]string{"Mcp-Method": "tools/list"}); len(names) == 0 {
		t.Error("tools/list with an honest header listed nothing")
	}
}

// Case tricks reach no connector. Tool names are case-sensitive (MCP 2025-11-25), but the echo
// connector matches them case-insensitively, as some servers do: a call that differs only in case
// from a hidden tool, a renamed tool's original name or a restricted tool is refused by vmcp as an
// unknown tool (-32602) before routing. Params keys that case-fold to a known key (or to each
// other) are refused too (-32602): a connector decoding with encoding/json would take the last
// fold match, running arguments no policy or audit record saw.
func TestCaseVariantsOfCuratedToolsAndParamsKeysReachNoConnector(t *testing.T) {
	s, echo := startEchoSystem(t, harness.VirtualServer{Extra: `connectors:
  - name: echo
    tools:
      wipe_all: {hidden: true}
      echo: {name: say}
access:
  tools:
    "echo__admin*": [admins]
`})
	outsider := s.token("mallory", "guarded", "--groups", "eng")
	call := func(name, params string) (int, int, string) {
		if params == "" {
			params = `{"name":` + mustQuote(name) + `,"arguments":{}}`
		}
		status, _, body := rawRPC(t, s.url("guarded"), outsider, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":`+params+`}`, nil)
		code, msg := rpcErrorOf(body)
		return status, code, msg + " " + string(body)
	}
	for _, name := range []string{"echo__WIPE_ALL", "echo__Wipe_All", "echo__ECHO", "echo__Echo", "echo__ADMIN.PURGE", "echo__Admin/Purge"} {
		if status, code, msg := call(name, ""); status != 200 || code != -32602 || !strings.Contains(msg, "unknown tool") {
			t.Errorf("%s: HTTP %d, error %d %s; want -32602 unknown tool", name, status, code, msg)
		}
	}
	for _, tc := range []struct{ name, params string }{
		{"arguments and argumentſ", `{"name":"echo__say","arguments":{},"argument\u017f":{"x":1}}`},
		{"Arguments alone", `{"name":"echo__say","Arguments":{"x":1}}`},
		{"name and NAME", `{"name":"echo__say","NAME":"wipe_all","arguments":{}}`},
	} {
		if status, code, msg := call("", tc.params); status != http.StatusBadRequest || code != -32602 {
			t.Errorf("%s: HTTP %d, error %d %s; want 400 with -32602", tc.name, status, code, msg)
		}
	}
	for _, seen := range echo.reached() {
		if strings.HasPrefix(seen, "tools/call") {
			t.Errorf("the connector ran %q", seen)
		}
	}
	// The tools as named are served.
	if status, code, msg := call("echo__say", ""); code != 0 || !strings.Contains(msg, "ran echo") {
		t.Errorf("echo__say: HTTP %d, error %d %s", status, code, msg)
	}
}

// access.connectors restricts every primitive of a connector, not just its tools: a user outside
// its groups neither lists nor calls its tools, lists nor reads its resources (or resources that
// fit its templates), lists its templates, lists nor gets its prompts, nor completes them; the
// connector sees none of those requests. A member gets them all; other connectors stay open.
func TestARestrictedConnectorsResourcesAndPromptsAreNeitherListedNorRead(t *testing.T) {
	s, echo := startEchoSystem(t, harness.VirtualServer{Connectors: []string{"echo", "notes"}, Extra: "access:\n  connectors:\n    echo: [admins]\n"})
	url := s.url("guarded")
	outsider := s.token("mallory", "guarded", "--groups", "eng")
	for _, l := range []struct{ method, key, field, hidden, open string }{
		{"tools/list", "tools", "name", "echo__echo", "notes__add_note"},
		{"resources/list", "resources", "uri", "echo://secret", "notes://all"},
		{"resources/templates/list", "resourceTemplates", "uriTemplate", "echo-item://{id}", ""},
		{"prompts/list", "prompts", "name", "echo__secret_prompt", "notes__summarize_notes"},
	} {
		got := strings.Join(listed(t, url, outsider, l.method, l.key, l.field), " ")
		if strings.Contains(got, "echo") {
			t.Errorf("%s shows an outsider the restricted connector's %s: %s", l.method, l.key, got)
		}
		if l.open != "" && !strings.Contains(got, l.open) {
			t.Errorf("%s lacks the open connector's %s: %s", l.method, l.open, got)
		}
	}
	before := len(echo.reached())
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"echo://secret"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"echo-item://42"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"echo://secret"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"echo__secret_prompt"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"echo__secret_prompt"},"argument":{"name":"a","value":""}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo__echo","arguments":{}}}`,
	} {
		status, _, answer := rawRPC(t, url, outsider, body, nil)
		if code, msg := rpcErrorOf(answer); status != 200 || code != -32003 || !strings.Contains(msg, "connector echo is restricted to groups") {
			t.Errorf("%s: HTTP %d, error %d %q: %s; want -32003 naming the restriction", body, status, code, msg, answer)
		}
	}
	for _, seen := range echo.reached()[before:] {
		if !strings.HasSuffix(seen, "/list") && seen != "initialize" && seen != "notifications/initialized" {
			t.Errorf("the restricted connector received %q from an outsider", seen)
		}
	}
	// The open connector's resource is still readable.
	if status, _, answer := rawRPC(t, url, outsider, `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"notes://all"}}`, nil); status != 200 || !strings.Contains(string(answer), "contents") {
		t.Errorf("notes://all: HTTP %d %s", status, answer)
	}

	admin := s.token("root", "guarded", "--groups", "admins")
	for _, l := range []struct{ method, key, field, want string }{
		{"resources/list", "resources", "uri", "echo://secret"},
		{"resources/templates/list", "resourceTemplates", "uriTemplate", "echo-item://{id}"},
		{"prompts/list", "prompts", "name", "echo__secret_prompt"},
		{"tools/list", "tools", "name", "echo__admin.purge"},
	} {
		if got := listed(t, url, admin, l.method, l.key, l.field); !strings.Contains(strings.Join(got, " "), l.want) {
			t.Errorf("%s for a member lacks %s: %v", l.method, l.want, got)
		}
	}
	for body, want := range map[string]string{
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"echo://secret"}}`:     "the secret of echo://secret",
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"echo-item://42"}}`:    "the secret of echo-item://42",
		`{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"echo__secret_prompt"}}`: "the secret prompt",
	} {
		if status, _, answer := rawRPC(t, url, admin, body, nil); !strings.Contains(string(answer), want) {
			t.Errorf("a member: %s: HTTP %d %s", body, status, answer)
		}
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// inspectorCLI is the MCP Inspector's command-line client in e2e/ts2's node_modules.
func inspectorCLI(dir string) string {
	return filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector", "clients", "cli", "build", "index.js")
}

// runInspector runs the Inspector CLI once per capability, as a person or a script would, and
// collects what it printed into the matrix's steps. The bearer token is in the --config file
// (the Inspector's mcp.json format), not on the command line.
func runInspector(t *testing.T, m *matrixServer, era string) matrixResult {
	t.Helper()
	dir, peers := npmDir(t, "ts2"), npmDir(t, "peers")
	unlock, err := lockTSDeps(dir, syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	home := t.TempDir()
	config := filepath.Join(home, "mcp.json")
	cfg, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{"vmcp": map[string]any{
		"type": "streamable-http", "url": m.url(matrixVS),
		"headers": map[string]string{"Authorization": "Bearer " + m.token("alice", matrixVS)},
	}}})
	if err := os.WriteFile(config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	var res matrixResult
	run := func(step string, args []string, value func(out []byte) (any, error)) {
		// The Inspector 2.x needs Node 22 (e2e/peers carries one).
		cmd := matrixCommand(t, home, node22(peers), append([]string{inspectorCLI(dir), "--config", config, "--server", "vmcp",
			"--protocol-era", era, "--format", "json", "--quiet"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+home, "MCP_INSPECTOR_SECRET_STORE=memory")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			res.set(step, nil, fmt.Errorf("inspector %s: %v: %s", strings.Join(args, " "), err, tail(strings.TrimSpace(stderr.String()), 600)))
			return
		}
		v, err := value(out)
		if err != nil {
			err = fmt.Errorf("inspector %s printed %s: %v", strings.Join(args, " "), tail(string(out), 600), err)
		}
		res.set(step, v, err)
	}
	// listOf is the list under key in the result the Inspector printed.
	listOf := func(out []byte, key string) ([]map[string]any, error) {
		var r map[string]json.RawMessage
		var items []map[string]any
		if err := unwrapResult(out, &r); err != nil {
			return nil, err
		}
		err := json.Unmarshal(r[key], &items)
		return items, err
	}
	names := func(key, field string) func([]byte) (any, error) {
		return func(out []byte) (any, error) {
			items, err := listOf(out, key)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, item := range items {
				s, _ := item[field].(string)
				names = append(names, s)
			}
			return names, nil
		}
	}
	texts := func(key string, inner bool) func([]byte) (any, error) {
		return func(out []byte) (any, error) {
			items, err := listOf(out, key)
			if err != nil {
				return nil, err
			}
			var parts []string
			for _, item := range items {
				if inner { // prompt messages: {role, content: {type, text}}
					item, _ = item["content"].(map[string]any)
				}
				if s, ok := item["text"].(string); ok {
					parts = append(parts, s)
				}
			}
			return strings.Join(parts, "\n"), nil
		}
	}
	// The first call says which revision the Inspector negotiated, in its non-quiet status
	// line; with --quiet there is none, so connect is the tools/list that follows succeeding.
	run(stepTools, []string{"--method", "tools/list"}, names("tools", "name"))
	if s := res.Steps[stepTools]; s.OK {
		res.set(stepConnect, map[string]string{}, nil)
	} else {
		res.Steps[stepConnect] = s
	}
	run(stepResources, []string{"--method", "resources/list"}, names("resources", "uri"))
	run(stepPrompts, []string{"--method", "prompts/list"}, names("prompts", "name"))
	run(stepCallNotes, []string{"--method", "tools/call", "--tool-name", "notes__add_note", "--tool-args-json",
		`{"title":"` + matrixNoteTitle("inspector") + `","body":"through vmcp"}`}, texts("content", false))
	run(stepCallWeather, []string{"--method", "tools/call", "--tool-name", "weather__get_forecast", "--tool-args-json", `{"city":"Oslo","days":1}`}, texts("content", false))
	run(stepRead, []string{"--method", "resources/read", "--uri", "notes://all"}, texts("contents", false))
	run(stepPrompt, []string{"--method", "prompts/get", "--prompt-name", "notes__summarize_notes", "--prompt-args", "focus=interop"}, texts("messages", true))
	return res
}

// unwrapResult decodes the result of the Inspector's --format json output, {"result": ...}.
func unwrapResult(out []byte, into any) error {
	var wrapper struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(out, &wrapper); err != nil {
		return err
	}
	if wrapper.Result == nil {
		return fmt.Errorf("no result")
	}
	return json.Unmarshal(wrapper.Result, into)
}

// The MCP Inspector's CLI (@modelcontextprotocol/inspector 2.12.0, on Node 22) lists, calls,
// reads and gets through vmcp with a bearer token from its --config file, in the legacy era
// (2025-11-25) and in auto, which speaks 2026-07-28 with vmcp. Each invocation is one short
// connection, so there is no list change to observe.
func TestMCPInspectorCLIWorksThroughVMCP(t *testing.T) {
	npmDir(t, "ts2")
	npmDir(t, "peers")
	m := startMatrix(t)
	for _, era := range []string{"legacy", "auto"} {
		t.Run(era, func(t *testing.T) {
			assertMatrixRow(t, runInspector(t, m, era), rowWant{client: "inspector"})
		})
	}
}

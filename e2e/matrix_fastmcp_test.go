package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runFastMCPCall runs `fastmcp call` once per capability it has (a tool, a resource URI, a
// prompt with --prompt), against an MCPConfig file that carries the bearer token, so the token
// is on no command line.
func runFastMCPCall(t *testing.T, m *matrixServer) matrixResult {
	t.Helper()
	_, python := usePyClients(t)
	home := t.TempDir()
	config := filepath.Join(home, "mcp.json")
	cfg, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{"vmcp": map[string]any{
		"url": m.url(matrixVS), "transport": "http",
		"headers": map[string]string{"Authorization": "Bearer " + m.token("alice", matrixVS)},
	}}})
	if err := os.WriteFile(config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	var res matrixResult
	run := func(step string, args ...string) {
		cmd := matrixCommand(t, home, filepath.Join(filepath.Dir(python), "fastmcp"), append([]string{"call", config}, append(args, "--json")...)...)
		cmd.Env = append(os.Environ(), "HOME="+home, "NO_COLOR=1", "COLUMNS=200")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			res.set(step, nil, fmt.Errorf("fastmcp call %s: %v: %s", strings.Join(args, " "), err, tail(strings.TrimSpace(stderr.String()+string(out)), 800)))
			return
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			res.set(step, nil, fmt.Errorf("fastmcp call %s printed %s: %v", strings.Join(args, " "), tail(string(out), 600), err))
			return
		}
		res.set(step, strings.Join(jsonTexts(v), "\n"), nil)
	}
	run(stepCallNotes, "notes__add_note", "--input-json", `{"title":"`+matrixNoteTitle("fastmcp-cli")+`","body":"through vmcp"}`)
	run(stepCallWeather, "weather__get_forecast", "city=Oslo", "days=1")
	run(stepRead, "notes://all")
	run(stepPrompt, "notes__summarize_notes", "--prompt", "focus=interop")
	return res
}

// jsonTexts collects every "text" string in v: the text blocks of a tool result, resource
// contents or prompt messages, however the CLI nests them.
func jsonTexts(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["text"].(string); ok {
			out = append(out, s)
		}
		for k, e := range x {
			if k != "text" {
				out = append(out, jsonTexts(e)...)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, jsonTexts(e)...)
		}
	}
	return out
}

// fastmcp 4.2.3 through vmcp with a bearer token: its Client in the default mode (which probes
// server/discover and speaks 2026-07-28; it has no subscriptions/listen, so it cannot observe a
// list change there), and the `fastmcp call` command line for a tool of each connector, the
// notes resource and the notes prompt.
func TestFastMCPWorksThroughVMCP(t *testing.T) {
	pyClients(t)
	m := startMatrix(t)
	t.Run("Client in its default mode", func(t *testing.T) {
		res := runPython(t, m, "fastmcp_client.py", m.url(matrixVS), m.tokenFile(t, "alice"))
		assertMatrixRow(t, res, rowWant{client: "fastmcp", revision: revModern})
	})
	t.Run("fastmcp call", func(t *testing.T) {
		assertMatrixRow(t, runFastMCPCall(t, m), rowWant{client: "fastmcp-cli", only: []string{stepCallNotes, stepCallWeather, stepRead, stepPrompt}})
	})
}

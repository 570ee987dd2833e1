//lint:file-ignore SA1019 server-everything exercises sampling and roots, which 2026-07-28 deprecates and 2025 clients still use.

package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// withEverything adds the reference server, server-everything, at url as connector everything.
func withEverything(url string) func(*harness.Config) {
	return func(c *harness.Config) {
		c.Connectors = append(c.Connectors, harness.Connector{Name: "everything", URL: url, Timeout: 10 * time.Second})
	}
}

// everythingClient is a go-sdk client that can do everything server-everything asks of a
// client: elicitation (accepted), sampling (a fixed answer), roots, and progress.
func everythingClient(t *testing.T, url string, rt http.RoundTripper, progress *atomic.Int32) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-everything", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"color": "blue", "number": 7, "pets": "cats"}}, nil
		},
		CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Role: "assistant", Model: "e2e", Content: &mcp.TextContent{Text: "sampled by the e2e client"}}, nil
		},
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) { progress.Add(1) },
	})
	client.AddRoots(&mcp.Root{URI: "file:///e2e", Name: "e2e"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The 2025-11-25 revision, with a session: the connector learns this client's capabilities
	// at initialize and offers the tools that need them.
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: rt}},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// TestServerEverythingWorksThroughVMCPAsItDoesDirectly puts the reference server
// (@modelcontextprotocol/server-everything, Streamable HTTP) behind a virtual server with the
// notes connector and checks, tool by tool, that a client gets through vmcp what it gets
// directly: content, structured content, images, progress notifications, and the elicitation,
// sampling and roots requests the server sends the client in the middle of a call.
func TestServerEverythingWorksThroughVMCPAsItDoesDirectly(t *testing.T) {
	dir := npmDir(t, "peers")
	addr := harness.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	harness.Start(t, "server-everything", []string{"PORT=" + port}, "node",
		filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"), "streamableHttp")
	harness.WaitTCP(t, addr)
	direct := "http://" + addr + "/mcp"

	s := startSystem(t, withEverything(direct))
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "ref", Connectors: []string{"everything", "notes"}, Prefix: "on_conflict"})
	})
	var viaProgress, directProgress atomic.Int32
	via := everythingClient(t, s.url("ref"), edgeclient.Bearer{Token: s.token("alice", "ref"), Base: http.DefaultTransport}, &viaProgress)
	ref := everythingClient(t, direct, http.DefaultTransport, &directProgress)

	// The checks below are independent of one another, each a t.Run of its own.
	refTools := toolNames(t, ref)
	t.Run("every tool is listed under its own name, beside those of notes", func(t *testing.T) {
		viaTools := toolNames(t, via)
		for _, name := range append(refTools, "add_note") {
			if !slices.Contains(viaTools, name) {
				t.Errorf("tool %q missing through vmcp; vmcp lists %v", name, viaTools)
			}
		}
	})
	t.Run("each tool answers as it does directly", func(t *testing.T) {
		for _, tc := range []struct {
			tool string
			args map[string]any
		}{
			{"echo", map[string]any{"message": "through the gateway"}},
			{"get-sum", map[string]any{"a": 2, "b": 40}},
			{"get-tiny-image", map[string]any{}},
			{"get-annotated-message", map[string]any{"messageType": "error", "includeImage": true}},
			{"get-structured-content", map[string]any{"location": "Chicago"}},
			{"get-resource-reference", map[string]any{"resourceType": "Text", "resourceId": 3}},
			// server-everything asks for the roots on the session's GET stream, not in the call's
			// answer: vmcp relays the connector's GET stream into the client's.
			{"get-roots-list", map[string]any{}},
			{"trigger-elicitation-request", map[string]any{}},
			{"trigger-sampling-request", map[string]any{"prompt": "hello", "maxTokens": 10}},
		} {
			t.Run(tc.tool, func(t *testing.T) {
				if !slices.Contains(refTools, tc.tool) {
					t.Fatalf("server-everything has no tool %q (it has %v)", tc.tool, refTools)
				}
				want, got := mustJSONOf(t, callTool(t, ref, tc.tool, tc.args)), mustJSONOf(t, callTool(t, via, tc.tool, tc.args))
				if got != want {
					t.Errorf("%s through vmcp:\n got %s\nwant %s", tc.tool, got, want)
				}
			})
		}
	})
	t.Run("progress notifications stream through while a call runs", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, cs := range []*mcp.ClientSession{via, ref} {
			params := &mcp.CallToolParams{Name: "trigger-long-running-operation", Arguments: map[string]any{"duration": 1, "steps": 4}}
			params.SetProgressToken("e2e-progress")
			if res, err := cs.CallTool(ctx, params); err != nil || res.IsError {
				t.Fatalf("long-running operation: %v %v", err, res)
			}
		}
		// The client may handle the answer before the last step's notification (directly too),
		// so one step may be missing either way.
		if v, d := viaProgress.Load(), directProgress.Load(); v < 3 || d < 3 {
			t.Errorf("%d progress notifications through vmcp, %d directly; want 3 or 4 each", v, d)
		}
	})
	t.Run("resources are listed and read from the connector that has them", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := via.ListResources(ctx, nil)
		if err != nil || len(res.Resources) == 0 {
			t.Fatalf("resources/list through vmcp: %v (%d resources)", err, len(res.Resources))
		}
		uri := res.Resources[0].URI
		gotRead, err := via.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatalf("resources/read %s through vmcp: %v", uri, err)
		}
		wantRead, err := ref.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatal(err)
		}
		if g, w := mustJSONOf(t, gotRead), mustJSONOf(t, wantRead); g != w {
			t.Errorf("resources/read %s through vmcp:\n got %s\nwant %s", uri, g, w)
		}
	})
	t.Run("prompts keep their names and give what they give directly", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Prefix mode on_conflict: no other connector has prompts.
		prompts, err := ref.ListPrompts(ctx, nil)
		if err != nil || len(prompts.Prompts) == 0 {
			t.Fatalf("prompts/list directly: %v", err)
		}
		var simple string
		for _, p := range prompts.Prompts {
			if len(p.Arguments) == 0 {
				simple = p.Name
			}
		}
		gotPrompt, err := via.GetPrompt(ctx, &mcp.GetPromptParams{Name: simple})
		if err != nil {
			t.Fatalf("prompts/get %s through vmcp: %v", simple, err)
		}
		wantPrompt, _ := ref.GetPrompt(ctx, &mcp.GetPromptParams{Name: simple})
		if g, w := mustJSONOf(t, gotPrompt), mustJSONOf(t, wantPrompt); g != w {
			t.Errorf("prompts/get %s through vmcp:\n got %s\nwant %s", simple, g, w)
		}
	})
}

// clockTime matches the wall-clock times server-everything writes into dynamic resources.
var clockTime = regexp.MustCompile(`\d{1,2}:\d{2}:\d{2}\s?[AP]M`)

// mustJSONOf is v as JSON, with clock times masked: two calls a moment apart must compare equal.
func mustJSONOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return clockTime.ReplaceAllString(string(b), "<time>")
}

// TestTypeScriptClientGetsFromServerEverythingThroughVMCPWhatItGetsDirectly drives the same
// virtual server with the official TypeScript SDK client (e2e/ts/everything-client.mjs).
func TestTypeScriptClientGetsFromServerEverythingThroughVMCPWhatItGetsDirectly(t *testing.T) {
	dir := npmDir(t, "peers")
	tsDir := npmDir(t, "ts")
	addr := harness.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	harness.Start(t, "server-everything", []string{"PORT=" + port}, "node",
		filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"), "streamableHttp")
	harness.WaitTCP(t, addr)
	direct := "http://" + addr + "/mcp"
	s := startSystem(t, withEverything(direct))
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "ref", Connectors: []string{"everything"}, Prefix: "never"})
	})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(s.token("alice", "ref")), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) map[string]any {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", append([]string{"everything-client.mjs"}, args...)...)
		cmd.Dir = tsDir
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("everything-client.mjs %s: %v: %s", args[0], err, stderr.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("everything-client.mjs printed %q: %v", out, err)
		}
		return m
	}
	want, got := run(direct), run(s.url("ref"), tokenFile)
	if got["progressSeen"] != true {
		t.Error("no progress notification reached the TypeScript client through vmcp")
	}
	if g, w := mustJSONOf(t, got), mustJSONOf(t, want); g != w {
		t.Errorf("through vmcp:\n got %s\nwant %s", g, w)
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/examples/connectors/notes"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
	"github.com/vmcp-dev/vmcp/internal/sse"
)

// modernAnswer sends one 2026-07-28 request through Envoy and returns the answer's content type
// and its JSON-RPC message: the body, or the SSE event that answers the request.
func modernAnswer(t *testing.T, url, token, method, name string, params map[string]any) (string, map[string]any) {
	t.Helper()
	params["_meta"] = map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 41, "method": method, "params": params})
	resp, err := http.DefaultClient.Do(newModernRequest(context.Background(), url, token, method, name, body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if ct == "text/event-stream" {
		r := sse.NewReader(bytes.NewReader(raw))
		for {
			ev, err := r.Next()
			if err != nil {
				t.Fatalf("%s: no answer in the stream: %s", method, raw)
			}
			var m map[string]any
			if json.Unmarshal(ev.Data, &m) == nil && m["id"] == 41.0 {
				return ct, m
			}
		}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", method, resp.StatusCode, raw)
	}
	return ct, m
}

// TestA2026ClientGetsResultsOfItsRevisionFromA2025Connector calls a tool, reads a resource and
// gets a prompt of the notes connector — a go-sdk server in its stateful mode, which speaks the
// 2025 revisions only — as a 2026-07-28 client, through Envoy, once answered in SSE and once in
// JSON. Every result must carry resultType (the newest SDKs reject one without it, after the
// tool has run) and a read the cache fields, private to the user whatever the connector said.
func TestA2026ClientGetsResultsOfItsRevisionFromA2025Connector(t *testing.T) {
	s := startSystem(t)
	s.addConnector(harness.Connector{Name: "notes-json", Timeout: 5 * time.Second, Credential: notesCredential},
		notes.New(notes.Options{Token: notesToken, JSONResponse: true}))
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "json", Connectors: []string{"notes-json"}}) })

	for _, tc := range []struct{ vs, connector, contentType string }{
		{"demo", "notes", "text/event-stream"},
		{"json", "notes-json", "application/json"},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			token, url := s.token("alice", tc.vs), s.url(tc.vs)
			tool := tc.connector + "__add_note"
			check := func(method, name string, params map[string]any, cacheable bool) map[string]any {
				t.Helper()
				var m map[string]any
				var ct string
				harness.Eventually(t, 15*time.Second, func() error {
					ct, m = modernAnswer(t, url, token, method, name, params)
					if m["error"] != nil {
						return fmt.Errorf("%s: %v", method, m["error"])
					}
					return nil
				})
				if ct != tc.contentType {
					t.Errorf("%s answered in %s, want %s (the path under test)", method, ct, tc.contentType)
				}
				res, _ := m["result"].(map[string]any)
				if res["resultType"] != "complete" {
					t.Errorf("%s: result without resultType \"complete\": %v", method, m)
				}
				if cacheable && (res["ttlMs"] == nil || res["cacheScope"] != "private") {
					t.Errorf("%s: result without the 2026-07-28 cache fields: %v", method, m)
				}
				if m["id"] != 41.0 {
					t.Errorf("%s: answer id %v, want the client's 41", method, m["id"])
				}
				return res
			}
			res := check("tools/call", tool, map[string]any{"name": tool, "arguments": map[string]any{"title": "t", "body": "b"}}, false)
			if res["isError"] == true {
				t.Errorf("add_note failed: %v", res)
			}
			check("resources/read", "notes://all", map[string]any{"uri": "notes://all"}, true)
			prompt := tc.connector + "__summarize_notes"
			check("prompts/get", prompt, map[string]any{"name": prompt}, false)
		})
	}
}

// TestAGoSDKClientIn2026ModeHearsOfListChangesOnSubscriptionsListen connects the go-sdk client
// in its default revision, 2026-07-28, with a tools list_changed handler: it opens
// subscriptions/listen while connecting. Its calls of a 2025 connector's tool, resource and
// prompt work, and a configuration edit reaches it as notifications/tools/list_changed.
func TestAGoSDKClientIn2026ModeHearsOfListChangesOnSubscriptionsListen(t *testing.T) {
	s := startSystem(t)
	changed := make(chan struct{}, 8)
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-2026", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   s.url("demo"),
		HTTPClient: &http.Client{Transport: edgeclient.Bearer{Token: s.token("alice", "demo"), Base: http.DefaultTransport}},
	}, &mcp.ClientSessionOptions{ProtocolVersion: "2026-07-28"})
	if err != nil {
		t.Fatalf("connect in 2026-07-28 (opens subscriptions/listen): %v", err)
	}
	defer cs.Close()
	if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("negotiated %s, want 2026-07-28", v)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "notes__add_note", Arguments: map[string]any{"title": "t", "body": "b"}})
	if err != nil || res.IsError {
		t.Fatalf("tools/call: %v %+v", err, res)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "notes://all"}); err != nil {
		t.Fatalf("resources/read: %v", err)
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "notes__summarize_notes"}); err != nil {
		t.Fatalf("prompts/get: %v", err)
	}
	// Drain anything heard so far: only a change made from here on counts.
	for len(changed) > 0 {
		<-changed
	}
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "other", Connectors: []string{"weather"}}) })
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no notifications/tools/list_changed after a configuration edit")
	}
}

// TestSubscriptionsListenAcknowledgesAndTagsEveryNotificationWithItsID opens
// subscriptions/listen with raw HTTP through Envoy: the first event acknowledges what vmcp
// honours, and a configuration edit arrives as notifications/tools/list_changed; both carry the
// listen request's id as io.modelcontextprotocol/subscriptionId (MCP 2026-07-28).
func TestSubscriptionsListenAcknowledgesAndTagsEveryNotificationWithItsID(t *testing.T) {
	s := startSystem(t)
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "listen-1", "method": "subscriptions/listen", "params": map[string]any{
		"_meta":         map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}},
		"notifications": map[string]any{"toolsListChanged": true, "resourceSubscriptions": []string{"notes://all"}},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(newModernRequest(ctx, s.url("demo"), s.token("alice", "demo"), "subscriptions/listen", "", body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("subscriptions/listen: HTTP %d %s %s", resp.StatusCode, ct, raw)
	}
	events := sse.NewReader(resp.Body)
	next := func() (method string, params map[string]any) {
		t.Helper()
		ev, err := events.Next()
		if err != nil {
			t.Fatalf("listen stream: %v", err)
		}
		var m struct {
			Method string         `json:"method"`
			Params map[string]any `json:"params"`
		}
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatalf("listen stream event %s: %v", ev.Data, err)
		}
		meta, _ := m.Params["_meta"].(map[string]any)
		if meta["io.modelcontextprotocol/subscriptionId"] != "listen-1" {
			t.Errorf("%s without the subscription id: %s", m.Method, ev.Data)
		}
		return m.Method, m.Params
	}
	method, params := next()
	honoured, _ := params["notifications"].(map[string]any)
	if method != "notifications/subscriptions/acknowledged" || honoured["toolsListChanged"] != true {
		t.Fatalf("first event: %s %v, want the acknowledgement honouring toolsListChanged", method, params)
	}
	if _, ok := honoured["resourceSubscriptions"]; ok {
		t.Errorf("acknowledged resourceSubscriptions, which vmcp does not send: %v", honoured)
	}
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "other", Connectors: []string{"weather"}}) })
	if method, _ := next(); method != "notifications/tools/list_changed" {
		t.Errorf("after a configuration edit: %s, want notifications/tools/list_changed", method)
	}
}

// progressConnector is a 2025 MCP server (go-sdk, stateful, with an event store, so its SSE
// answers carry event ids and a priming event) whose tool "work" reports progress twice before
// it answers.
func progressConnector() http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "progress", Version: "1"}, nil)
	type in struct{}
	type out struct {
		Done bool `json:"done"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "work", Description: "Reports progress, then answers."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ in) (*mcp.CallToolResult, out, error) {
			if tok := req.Params.GetProgressToken(); tok != nil {
				for i := 1; i <= 2; i++ {
					req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: 2})
				}
			}
			return nil, out{Done: true}, nil
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{EventStore: mcp.NewMemoryEventStore(nil)})
}

// TestA2026ClientGetsAStreamedAnswerOfItsRevisionEventByEvent calls a tool of a 2025 connector
// whose SSE answer carries a priming event, event ids and progress notifications before the
// result, as a 2026-07-28 client with raw HTTP through Envoy: the progress arrives, the result
// has resultType, and nothing of 2025's stream resumption (event ids, priming) is left.
func TestA2026ClientGetsAStreamedAnswerOfItsRevisionEventByEvent(t *testing.T) {
	s := startSystem(t)
	s.addConnector(harness.Connector{Name: "progress", Timeout: 5 * time.Second}, progressConnector())
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "work", Connectors: []string{"progress"}}) })
	token, url := s.token("alice", "work"), s.url("work")
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": map[string]any{
		"name": "progress__work", "arguments": map[string]any{},
		"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}, "progressToken": "p-1"},
	}})
	var raw []byte
	harness.Eventually(t, 15*time.Second, func() error {
		resp, err := http.DefaultClient.Do(newModernRequest(context.Background(), url, token, "tools/call", "progress__work", body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ = io.ReadAll(resp.Body)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			return fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		}
		return nil
	})
	progress := 0
	var result map[string]any
	r := sse.NewReader(bytes.NewReader(raw))
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.ID != "" {
			t.Errorf("an SSE event id reached a 2026-07-28 client: %q", ev.ID)
		}
		var m map[string]any
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Errorf("an event that is not a JSON-RPC message: %q", ev.Data)
			continue
		}
		switch {
		case m["method"] == "notifications/progress":
			progress++
		case m["id"] == 41.0:
			result, _ = m["result"].(map[string]any)
		}
	}
	if progress != 2 {
		t.Errorf("%d progress notifications, want 2:\n%s", progress, raw)
	}
	if result["resultType"] != "complete" {
		t.Errorf("result %v, want resultType complete:\n%s", result, raw)
	}
	if strings.Contains(string(raw), "id:") || strings.Contains(string(raw), "prime") {
		t.Errorf("2025 stream resumption reached a 2026-07-28 client:\n%s", raw)
	}
}

package connectors

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/zap/zaptest"
)

const testToken = "example-notes-token"

type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func callTool(t *testing.T, url string, hc *http.Client, tool string, args map[string]any) string {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "serve-test", Version: "0"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer cs.Close()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	text := res.Content[0].(*mcp.TextContent).Text
	if res.IsError {
		t.Fatalf("%s: tool error: %s", tool, text)
	}
	return text
}

// openStandaloneStream initializes a raw MCP session and opens its GET event stream: the kind of
// long-lived request that must not hold up shutdown.
func openStandaloneStream(t *testing.T, url string) *http.Response {
	t.Helper()
	post := func(body, session string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	init := post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`, "")
	session := init.Header.Get("Mcp-Session-Id")
	if init.StatusCode != http.StatusOK || session == "" {
		t.Fatalf("initialize: status %d, session %q", init.StatusCode, session)
	}
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, session)

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET stream: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: status %d", resp.StatusCode)
	}
	return resp
}

func TestServeAnswersBothConnectorsAndStopsPromptlyWithOpenStreams(t *testing.T) {
	c, err := Listen(zaptest.NewLogger(t), "127.0.0.1:0", "127.0.0.1:0", testToken)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()

	notesURL, weatherURL := "http://"+c.NotesAddr(), "http://"+c.WeatherAddr()
	if got := callTool(t, notesURL, &http.Client{Transport: bearerTransport{testToken}}, "add_note",
		map[string]any{"title": "t", "body": "b"}); !strings.Contains(got, `"id":"note-1"`) {
		t.Errorf("add_note = %s", got)
	}
	if got := callTool(t, weatherURL, http.DefaultClient, "convert_temperature",
		map[string]any{"value": 0, "from": "C", "to": "K"}); !strings.Contains(got, "273.15") {
		t.Errorf("convert_temperature = %s", got)
	}
	stream := openStandaloneStream(t, weatherURL)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel = %v, want nil", err)
		}
	case <-time.After(ShutdownTimeout / 2):
		t.Fatal("Serve did not return well before the shutdown timeout: an open GET stream held it up")
	}
	// Shutdown has completed, so the stream's connection is gone and this read ends.
	_, _ = io.Copy(io.Discard, stream.Body)
	for _, addr := range []string{c.NotesAddr(), c.WeatherAddr()} {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_ = conn.Close()
			t.Errorf("%s still accepts connections after Serve returned", addr)
		}
	}
}

func TestListenRefusesBadSetups(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	cases := []struct {
		name        string
		notes       string
		weather     string
		token       string
		wantErrText string
	}{
		{name: "an empty notes token is refused", notes: "127.0.0.1:0", weather: "127.0.0.1:0", token: "",
			wantErrText: "notes connector: a bearer token is required"},
		{name: "a busy notes address names the notes connector", notes: busy.Addr().String(), weather: "127.0.0.1:0", token: testToken,
			wantErrText: "notes connector: listen on " + busy.Addr().String()},
		{name: "a busy weather address names the weather connector", notes: "127.0.0.1:0", weather: busy.Addr().String(), token: testToken,
			wantErrText: "weather connector: listen on " + busy.Addr().String()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Listen(zaptest.NewLogger(t), tc.notes, tc.weather, tc.token)
			if err == nil {
				_ = c.Close()
				t.Fatal("Listen succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErrText) {
				t.Errorf("error %q does not contain %q", err, tc.wantErrText)
			}
		})
	}
}

func TestServeReturnsNilWhenCancelledWithoutTraffic(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Serve(ctx, zaptest.NewLogger(t), "127.0.0.1:0", "127.0.0.1:0", testToken); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
}

package e2e

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// addConnector adds c to s.config, at an address of its own: h serves it there, or with h nil
// nothing does (a connector that is down). The next writeConfig applies it.
func (s *system) addConnector(c harness.Connector, h http.Handler) {
	s.t.Helper()
	if h != nil {
		s.serveConnector(c.Name, h)
	} else {
		s.addrs[c.Name] = harness.FreeAddr(s.t) // picked free, and nothing will listen there
	}
	c.URL = "http://" + s.addrs[c.Name] + "/mcp"
	s.config.Connectors = append(s.config.Connectors, c)
}

// gate holds a tool call until the test releases it, and says when one has started.
type gate struct {
	started chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan struct{}, 16), release: make(chan struct{})} }

// gatedConnector is an MCP server with one tool, "wait", that answers only once g is released
// (or its request is cancelled): a slow tool call whose timing the test controls.
func gatedConnector(g *gate) http.Handler {
	srv := gatedServer(g)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

// statelessGatedConnector is gatedConnector serving the session-less revision, 2026-07-28.
func statelessGatedConnector(g *gate) http.Handler {
	srv := gatedServer(g)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
}

func gatedServer(g *gate) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "gated", Version: "1"}, nil)
	type in struct{}
	type out struct {
		Done bool `json:"done"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "wait", Description: "Answers when the test says so."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ in) (*mcp.CallToolResult, out, error) {
			g.started <- struct{}{}
			select {
			case <-g.release:
				return nil, out{Done: true}, nil
			case <-ctx.Done():
				return nil, out{}, ctx.Err()
			}
		})
	return srv
}

// stalled never answers: it holds each request until the caller gives up.
func stalled() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
}

// garbage answers every request with a 200 whose JSON body is not JSON.
func garbage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`}{"jsonrpc":"2.0", this is not JSON`))
	})
}

// serveRecordingConnector serves, on l, a go-sdk MCP connector with one tool (whoami) that
// records every request's headers and answers 401 unless accept(bearer token) holds. extra adds
// routes (metadata, say).
func serveRecordingConnector(t *testing.T, l net.Listener, accept func(token string) bool, extra func(*http.ServeMux)) *recorder {
	t.Helper()
	seen := &recorder{}
	srv := mcp.NewServer(&mcp.Implementation{Name: "recording", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "whoami", Description: "Who the connector thinks is calling."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ map[string]any) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "octocat"}}}, nil, nil
		})
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	mux := http.NewServeMux()
	if extra != nil {
		extra(mux)
	}
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		seen.observe(r)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !accept(tok) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://`+l.Addr().String()+`/.well-known/oauth-protected-resource/mcp"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mcpHandler.ServeHTTP(w, r)
	})
	hs := &http.Server{Handler: mux}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return seen
}

package e2e

import (
	"context"
	"fmt"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// addConnector adds a connector named name to the configuration, after weather, with extra YAML
// lines (indented four spaces) such as a timeout. h serves it; nil leaves its address unserved
// (a connector that is down). The next writeConfig applies it.
func (s *system) addConnector(name string, h http.Handler, extra string) {
	s.t.Helper()
	if h != nil {
		s.serveConnector(name, h)
	} else {
		s.addrs[name] = harness.FreeAddr(s.t) // picked free, and nothing will listen there
	}
	// The weather connector's optional credential line is the one place in the template where a
	// list item may follow; a connector added there is one more entry of the connectors list.
	s.addrs["weather-credential"] += fmt.Sprintf("  - name: %s\n    url: http://%s/mcp\n%s", name, s.addrs[name], extra)
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
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

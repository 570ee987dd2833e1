package e2e

import (
	"context"
	"net/http"

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

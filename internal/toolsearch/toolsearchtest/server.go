package toolsearchtest

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Handler serves c's tools over MCP Streamable HTTP with the go-sdk. Every tool answers with
// its connector, its own name and the arguments it got, so a test can see exactly what reached
// which connector.
func Handler(c Connector) http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: c.Name, Version: "0.0.1"}, nil)
	for _, t := range c.Tools {
		schema := t.InputSchema
		if len(schema) == 0 {
			// go-sdk requires an object schema; a tool without parameters has an empty one.
			schema = json.RawMessage(`{"type":"object"}`)
		}
		srv.AddTool(&mcp.Tool{Name: t.Name, Description: t.Description, InputSchema: schema}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			echo, _ := json.Marshal(map[string]any{"connector": c.Name, "tool": t.Name, "arguments": req.Params.Arguments})
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(echo)}}}, nil
		})
	}
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

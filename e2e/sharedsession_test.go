package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// TestSessionlessClientsOfOneUserMayReuseRequestIDs: clients without a session share the
// connector session vmcp keeps for their user, and clients number their requests alike (1, 2,
// …). Ten concurrent calls with the same id reach a go-sdk connector — which refuses a second
// in-flight request with an id it is already serving — and each gets its own answer under the
// id it sent.
func TestSessionlessClientsOfOneUserMayReuseRequestIDs(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "slow", Version: "1"}, nil)
	type in struct {
		N int `json:"n"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "echo_slowly", Description: "Answers n after a moment."}, func(ctx context.Context, _ *mcp.CallToolRequest, a in) (*mcp.CallToolResult, any, error) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("n=%d", a.N)}}}, nil, nil
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The calls below speak 2025-11-25 without a session: the kept-session path.
	hs := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)}
	go hs.Serve(lis)
	t.Cleanup(func() { hs.Close() })

	s := startSystem(t, func(c *harness.Config) {
		c.Connectors = append(c.Connectors, harness.Connector{Name: "slow", URL: "http://" + lis.Addr().String() + "/mcp"})
	})
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "shared", Connectors: []string{"slow"}}) })
	token := s.token("alice", "shared")

	var wg sync.WaitGroup
	for n := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{"name": "slow__echo_slowly", "arguments": map[string]any{"n": n}}})
			status, m := rawPost(t, s.url("shared"), token, body, map[string]string{"MCP-Protocol-Version": "2025-11-25"})
			res, _ := m["result"].(map[string]any)
			content, _ := res["content"].([]any)
			text := ""
			if len(content) > 0 {
				text, _ = content[0].(map[string]any)["text"].(string)
			}
			if status != http.StatusOK || m["id"] != float64(1) || text != fmt.Sprintf("n=%d", n) {
				t.Errorf("call %d: HTTP %d %v", n, status, m)
			}
		}()
	}
	wg.Wait()
}

//go:build unix

package stdio

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tests' stdio MCP server is this test binary run again with testServerEnv set: a real
// go-sdk server on StdioTransport, built by `go test` itself, with tools that misbehave on
// demand.
const testServerEnv = "VMCP_STDIO_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(testServerEnv) == "1" {
		runTestServer()
		return
	}
	os.Exit(m.Run())
}

// testCommand runs the test server with extra environment.
func testCommand(env ...string) Command {
	return Command{Argv: []string{os.Args[0], "-test.run=^$"}, Env: append([]string{testServerEnv + "=1"}, env...)}
}

type textArgs struct {
	Text string `json:"text,omitempty"`
	N    int    `json:"n,omitempty"`
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func runTestServer() {
	fmt.Fprintln(os.Stderr, "test server starting")
	fmt.Fprintln(os.Stderr, "second stderr line")
	s := mcp.NewServer(&mcp.Implementation{Name: "stdio-test", Version: "1"}, nil)
	add := func(name string, h func(context.Context, *mcp.CallToolRequest, textArgs) (*mcp.CallToolResult, error)) {
		mcp.AddTool(s, &mcp.Tool{Name: name, Description: name}, func(ctx context.Context, req *mcp.CallToolRequest, in textArgs) (*mcp.CallToolResult, any, error) {
			res, err := h(ctx, req, in)
			return res, nil, err
		})
	}
	add("echo", func(_ context.Context, _ *mcp.CallToolRequest, in textArgs) (*mcp.CallToolResult, error) {
		return text("echo: " + in.Text), nil
	})
	add("pid", func(context.Context, *mcp.CallToolRequest, textArgs) (*mcp.CallToolResult, error) {
		return text(strconv.Itoa(os.Getpid())), nil
	})
	add("env", func(_ context.Context, _ *mcp.CallToolRequest, in textArgs) (*mcp.CallToolResult, error) {
		return text(os.Getenv(in.Text)), nil
	})
	add("crash", func(context.Context, *mcp.CallToolRequest, textArgs) (*mcp.CallToolResult, error) {
		os.Exit(3)
		return nil, nil
	})
	add("hang", func(ctx context.Context, _ *mcp.CallToolRequest, _ textArgs) (*mcp.CallToolResult, error) {
		<-ctx.Done() // until the client (or the bridge, on its behalf) cancels
		fmt.Fprintln(os.Stderr, "hang cancelled")
		return nil, ctx.Err()
	})
	add("spawn", func(context.Context, *mcp.CallToolRequest, textArgs) (*mcp.CallToolResult, error) {
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return text(strconv.Itoa(cmd.Process.Pid)), nil
	})
	add("ask", func(ctx context.Context, req *mcp.CallToolRequest, in textArgs) (*mcp.CallToolResult, error) {
		res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: in.Text, RequestedSchema: map[string]any{
			"type": "object", "properties": map[string]any{"answer": map[string]any{"type": "string"}},
		}})
		if err != nil {
			return nil, err
		}
		return text(fmt.Sprintf("%s: %v", res.Action, res.Content["answer"])), nil
	})
	add("progress", func(ctx context.Context, req *mcp.CallToolRequest, in textArgs) (*mcp.CallToolResult, error) {
		tok := req.Params.GetProgressToken()
		for i := 1; i <= in.N; i++ {
			if tok != nil {
				req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: float64(in.N)})
			}
		}
		return text(fmt.Sprintf("progress %v done", tok)), nil
	})
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, "test server:", err)
		os.Exit(1)
	}
}

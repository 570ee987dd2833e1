package notes

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sessionInfo is what session_info returns.
type sessionInfo struct {
	Session string `json:"session" jsonschema:"this connector's own Mcp-Session-Id for the caller (empty when it serves without sessions)"`
	Calls   int    `json:"calls" jsonschema:"tool calls this session has served, this one included"`
}

// maxCountedSessions bounds the per-session counters; past it they start over (a long-running
// `vmcp dev` must not grow without bound).
const maxCountedSessions = 10_000

// callCounter counts tool calls per MCP session.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

// count is receiving middleware: every tools/call adds one to its session's count.
func (c *callCounter) count(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == "tools/call" {
			id := sessionID(req)
			c.mu.Lock()
			if len(c.calls) >= maxCountedSessions {
				clear(c.calls)
			}
			c.calls[id]++
			c.mu.Unlock()
		}
		return next(ctx, method, req)
	}
}

func (c *callCounter) of(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[id]
}

func sessionID(req mcp.Request) string {
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss != nil {
		return ss.ID()
	}
	return ""
}

// addSessionInfo registers session_info, which shows which of the connector's sessions served a
// call. The notes themselves are shared by every session, so they cannot tell whether two calls
// went to the same session; this can: the same session id with a count that went up by the
// calls made in between, or a new id (and a count that started over) after the connector
// restarted or a caller was moved to another session.
func addSessionInfo(srv *mcp.Server) {
	counter := &callCounter{calls: map[string]int{}}
	srv.AddReceivingMiddleware(counter.count)
	mcp.AddTool(srv, &mcp.Tool{Name: "session_info", Description: "Report this connector's session for the caller and how many tool calls it has served."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, sessionInfo, error) {
			id := sessionID(req)
			return nil, sessionInfo{Session: id, Calls: counter.of(id)}, nil
		})
}

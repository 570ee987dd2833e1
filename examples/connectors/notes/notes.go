// Package notes is an example MCP connector: a small in-memory notes store that demands a
// bearer credential. It is served over Streamable HTTP with the official go-sdk so vmcp's
// tests, `vmcp dev` and `vmcp example-connectors` exercise a real MCP server.
package notes

import (
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure the notes connector.
type Options struct {
	// Token is the bearer credential every HTTP request must carry. When empty, every request
	// is refused.
	Token string
	// Observe, if set, sees each HTTP request before authentication, so tests can assert what
	// reached the connector (for example that the client's own token never did). It must not
	// read the body.
	Observe func(r *http.Request)
	// Stateless serves the session-less MCP revision 2026-07-28 (no initialize, no
	// Mcp-Session-Id). go-sdk serves the 2025 revisions only in the default, stateful mode.
	Stateless bool
	// JSONResponse answers each request with one JSON body instead of an SSE stream (both are
	// MCP Streamable HTTP; clients and gateways must read either).
	JSONResponse bool
}

// New returns the connector's HTTP handler. Each handler has its own empty store, shared by all
// of its sessions; the session_info tool tells the sessions apart.
//
// go-sdk's DNS-rebinding protection stays on: a request that arrives on a loopback address with
// a non-loopback Host header gets 403. vmcp's Envoy routes rewrite Host to the connector's own
// address, so traffic through vmcp passes; a browser page on a rebound domain does not.
func New(opts Options) http.Handler {
	s := &store{}
	srv := mcp.NewServer(&mcp.Implementation{Name: "notes", Title: "Notes (vmcp example)", Version: "0.1.0"}, nil)
	addTools(srv, s)
	addPrompt(srv, s)
	addResource(srv, s)
	addSessionInfo(srv)

	var h http.Handler = mcp.NewStreamableHTTPHandler(
		func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: opts.Stateless, JSONResponse: opts.JSONResponse},
	)
	h = requireBearer(opts.Token, h)
	if opts.Observe != nil {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			opts.Observe(r)
			inner.ServeHTTP(w, r)
		})
	}
	return h
}

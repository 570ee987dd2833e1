// Package weather is an example MCP connector that needs no credential: a deterministic fake
// forecast and a temperature converter, served over Streamable HTTP with the official go-sdk.
// Nothing here touches the network, so tests that call it are reproducible.
package weather

import (
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure the weather connector.
type Options struct {
	// Observe, if set, sees each HTTP request before it is served, so tests can assert what
	// reached the connector (for example that no Authorization header did). It must not read
	// the body.
	Observe func(r *http.Request)
	// Stateless serves the session-less MCP revision 2026-07-28 (no initialize, no
	// Mcp-Session-Id). go-sdk serves the 2025 revisions only in the default, stateful mode.
	Stateless bool
}

// New returns the connector's HTTP handler.
//
// go-sdk's DNS-rebinding protection stays on: a request that arrives on a loopback address with
// a non-loopback Host header gets 403. vmcp's Envoy routes rewrite Host to the connector's own
// address, so traffic through vmcp passes; a browser page on a rebound domain does not.
func New(opts Options) http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "weather", Title: "Weather (vmcp example)", Version: "0.1.0"}, nil)
	addForecastTool(srv)
	addConvertTool(srv)

	var h http.Handler = mcp.NewStreamableHTTPHandler(
		func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: opts.Stateless},
	)
	if opts.Observe != nil {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			opts.Observe(r)
			inner.ServeHTTP(w, r)
		})
	}
	return h
}

package aggregator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/toolsearch"
)

// Tool discovery: a virtual server with hundreds of tools lists search_tools and
// call_tool (and its pinned tools) instead. Every step starts from visibleTools — the caller's
// own view, exactly as tools/list pages through it: renamed, hidden and filtered by the
// vmcp.tools policy — so a tool the caller may not see is never indexed for them, never a result
// and never counted.

// Search limits: enough to choose from, few enough to keep the answer small.
const (
	defaultSearchLimit = 5
	maxSearchLimit     = 25
)

// searchToolsSchema and callToolSchema are the meta-tools' input schemas.
var (
	searchToolsSchema = json.RawMessage(`{"type":"object","properties":{` +
		`"query":{"type":"string","description":"What you want to do, in a few words (e.g. \"send a slack message\")."},` +
		`"limit":{"type":"integer","minimum":1,"maximum":25,"description":"How many tools to return (default 5)."}},` +
		`"required":["query"]}`)
	callToolSchema = json.RawMessage(`{"type":"object","properties":{` +
		`"name":{"type":"string","description":"The tool's name exactly as search_tools returned it."},` +
		`"arguments":{"type":"object","description":"The tool's arguments, as its inputSchema describes them."}},` +
		`"required":["name"]}`)
)

// toolsList answers tools/list: a page of the caller's tools or, when discovery is active for
// this view, the meta-tools and the pinned tools the caller may see.
func (s *Server) toolsList(ctx context.Context, req *request, cursor string) (map[string]any, *jsonrpc.Error) {
	tools, discovering := s.toolsView(ctx, req)
	out, rpcErr := page(tools, "tools", cursor)
	if rpcErr == nil && !discovering {
		// visibleTools (toolJSON) wrote every item: valid JSON, not worth scanning again.
		out["tools"] = encodedArray(out["tools"].([]json.RawMessage))
	}
	return out, rpcErr
}

// toolsView is every tool of the caller's tools/list, before paging: the tools they may see,
// or the discovery list when tool discovery is active for that view.
func (s *Server) toolsView(ctx context.Context, req *request) (tools []json.RawMessage, discovering bool) {
	visible := s.discoveryView(ctx, req)
	if !req.vs.discovery.Active(len(visible)) {
		return visible, false
	}
	return discoveryList(req.vs, visible), true
}

// discoveryView is the caller's view of the tools (visibleTools) where discovery is enabled,
// less any connector tool named like a meta-tool: in prefix modes other than always a
// connector's own tool may be called search_tools, and extproc would take a call of it for the
// meta-tool's. (In mode always, configuration validation rules such names out.)
func (s *Server) discoveryView(ctx context.Context, req *request) []json.RawMessage {
	visible := s.visibleTools(ctx, req)
	if !req.vs.discovery.Enabled() || req.vs.names.Static() {
		return visible
	}
	out := visible[:0:0]
	for _, raw := range visible {
		// Most definitions cannot hold the name at all; decode only those that might.
		if bytes.Contains(raw, []byte(config.SearchToolsName)) || bytes.Contains(raw, []byte(config.CallToolName)) {
			var t struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(raw, &t) == nil && (t.Name == config.SearchToolsName || t.Name == config.CallToolName) {
				s.log.Warn("aggregator: a connector tool named like a tool-discovery meta-tool is left out", zap.String("vs", req.vs.name), zap.String("tool", t.Name))
				continue
			}
		}
		out = append(out, raw)
	}
	return out
}

// discoveryList is what a view in discovery mode lists: the meta-tools, then the pinned tools
// of the view in its order.
func discoveryList(vs *virtualServer, visible []json.RawMessage) []json.RawMessage {
	search, _ := json.Marshal(map[string]any{
		"name": config.SearchToolsName,
		"description": fmt.Sprintf("Search the %d tools this server offers you and return the best matches with their "+
			"input schemas. Use it first, then call a match with %s.", len(visible), config.CallToolName),
		"inputSchema": searchToolsSchema,
	})
	call, _ := json.Marshal(map[string]any{
		"name":        config.CallToolName,
		"description": "Call a tool found with " + config.SearchToolsName + " by its name, with its arguments.",
		"inputSchema": callToolSchema,
	})
	tools := []json.RawMessage{search, call}
	if len(vs.pinned) > 0 {
		for _, raw := range visible {
			var t struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(raw, &t) == nil && vs.pinned[t.Name] {
				tools = append(tools, raw)
			}
		}
	}
	return tools
}

// discoveryInstructions is what initialize's instructions add about tool discovery, so that a
// client (and an operator reading a transcript) can see the mode.
func discoveryInstructions(vs *virtualServer) string {
	switch vs.discovery.Discovery {
	case config.DiscoverySearch:
		return " Tool discovery is on: find tools with " + config.SearchToolsName + " and call them with " + config.CallToolName + "."
	case config.DiscoveryAuto:
		return fmt.Sprintf(" Tool discovery is automatic: when more than %d tools are available to you, the list offers %s and %s instead of every tool.",
			vs.discovery.Threshold, config.SearchToolsName, config.CallToolName)
	}
	return ""
}

// callTool answers the one tools/call that reaches the aggregator: search_tools. Every other
// tools/call is routed to its connector by extproc.
func (s *Server) callTool(ctx context.Context, req *request, msg *jsonrpc.Message) (map[string]any, *jsonrpc.Error) {
	// Exact keys, as extproc read them when it let this call through.
	var params map[string]json.RawMessage
	var name string
	if json.Unmarshal(msg.Params, &params) != nil || json.Unmarshal(params["name"], &name) != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "tools/call needs a string \"name\"")
	}
	req.target = jsonrpc.Excerpt(name)
	if name != config.SearchToolsName || !req.vs.discovery.Enabled() {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown tool %q on virtual server %q", jsonrpc.Excerpt(name), req.vs.name)
	}
	var args struct {
		Query *string `json:"query"`
		Limit *int    `json:"limit"`
	}
	if raw := params["arguments"]; len(raw) > 0 && json.Unmarshal(raw, &args) != nil {
		return toolError("arguments must be an object with a string query and an integer limit"), nil
	}
	if args.Query != nil {
		req.arguments = map[string]any{"query": *args.Query}
	}
	// MCP 2025-11-25 (tools, error handling): input validation problems are tool execution
	// errors, so the model sees them and can correct its call.
	switch {
	case args.Query == nil || *args.Query == "":
		return toolError("query is required: describe what you want to do in a few words"), nil
	case args.Limit != nil && (*args.Limit < 1 || *args.Limit > maxSearchLimit):
		return toolError(fmt.Sprintf("limit must be between 1 and %d", maxSearchLimit)), nil
	}
	limit := defaultSearchLimit
	if args.Limit != nil {
		limit = *args.Limit
	}
	visible := s.discoveryView(ctx, req)
	ix := req.catalog.indexes.get(visible)
	found := []json.RawMessage{}
	for _, r := range ix.Search(*args.Query, limit) {
		found = append(found, visible[r.Index])
	}
	structured := map[string]any{"tools": found}
	if len(found) == 0 {
		structured["hint"] = "no tool matches; try other words"
	}
	// MCP 2025-06-18 tools, structured content: a tool that returns structured content SHOULD
	// also return it serialized in a text block, for clients that read only content.
	text, err := json.Marshal(structured)
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInternalError, "cannot encode the results")
	}
	return map[string]any{
		"content":           []any{map[string]any{"type": "text", "text": string(text)}},
		"structuredContent": structured,
	}, nil
}

func toolError(text string) map[string]any {
	return map[string]any{
		"content": []any{map[string]any{"type": "text", "text": text}},
		"isError": true,
	}
}

// indexCacheMax bounds the indexes kept per configuration: one per distinct view (set of
// visible tools) in use. When full, the cache starts over.
const indexCacheMax = 256

// indexCache keeps one search index per view, keyed by the SHA-256 of the view's tool
// definitions. The key covers exactly what is indexed — the caller's filtered, renamed tools as
// the connectors' current lists give them — so callers with the same view share an index, a
// changed connector list or policy decision gives a new key, and an index can only ever answer
// with tools of the view it was built from. A reload starts a new cache.
type indexCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*toolsearch.Index
}

func (c *indexCache) get(view []json.RawMessage) *toolsearch.Index {
	key := viewKey(view)
	c.mu.Lock()
	ix := c.m[key]
	c.mu.Unlock()
	if ix != nil {
		return ix
	}
	// Built outside the lock: two first searches of one view may both build; the index is the
	// same either way.
	ix = toolsearch.Build(searchable(view))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= indexCacheMax {
		c.m = map[[sha256.Size]byte]*toolsearch.Index{}
	}
	c.m[key] = ix
	return ix
}

func viewKey(view []json.RawMessage) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, raw := range view {
		// Length-prefixed, so that no two different lists hash the same bytes.
		binary.BigEndian.PutUint64(n[:], uint64(len(raw)))
		h.Write(n[:])
		h.Write(raw)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// searchable reads what the index needs from each tool definition. A definition that does not
// decode is indexed without a name, so positions still match the view.
func searchable(view []json.RawMessage) []toolsearch.Tool {
	out := make([]toolsearch.Tool, len(view))
	for i, raw := range view {
		var t struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
		}
		json.Unmarshal(raw, &t)
		out[i] = toolsearch.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema}
	}
	return out
}

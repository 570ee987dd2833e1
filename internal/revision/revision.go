// Package revision knows what vmcp's components must agree on about MCP revisions: which one
// ended sessions and initialize, and where such a request names its revision.
package revision

import "encoding/json"

// Modern20260728 is the first MCP revision without sessions or initialize: each request names
// its revision in _meta and mirrors its method and target in headers.
const Modern20260728 = "2026-07-28"

// MetaKeyProtocolVersion is the _meta key of a 2026-07-28 request's revision.
const MetaKeyProtocolVersion = "io.modelcontextprotocol/protocolVersion"

// Modern says whether a revision is 2026-07-28 or later. Revisions are dates, so they compare
// as strings.
func Modern(version string) bool { return version >= Modern20260728 }

// FromMeta reads the revision a request's params name in _meta; "" when they name none.
func FromMeta(params json.RawMessage) string {
	if len(params) == 0 {
		return ""
	}
	var p struct {
		Meta struct {
			Version string `json:"io.modelcontextprotocol/protocolVersion"`
		} `json:"_meta"`
	}
	json.Unmarshal(params, &p)
	return p.Meta.Version
}

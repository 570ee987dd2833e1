package session

import "encoding/json"

// DeclaresURLElicitation reports whether client capabilities include URL-mode elicitation (MCP
// 2025-11-25: capabilities.elicitation.url, an object) — at initialize for the 2025 revisions
// (the session records it), or in each request's _meta for 2026-07-28. A call that needs the
// user to connect an account then answers -32042 with the link.
func DeclaresURLElicitation(caps json.RawMessage) bool {
	var c struct {
		Elicitation *struct {
			URL json.RawMessage `json:"url"`
		} `json:"elicitation"`
	}
	if json.Unmarshal(caps, &c) != nil || c.Elicitation == nil {
		return false
	}
	return len(c.Elicitation.URL) > 0 && string(c.Elicitation.URL) != "null"
}

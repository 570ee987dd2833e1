package aggregator

import "encoding/json"

// declaresURLElicitation reports whether a client's initialize capabilities include URL-mode
// elicitation (MCP 2025-11-25: capabilities.elicitation.url, an object). The session records it,
// so that extproc can answer a call that needs the user to connect an account with -32042.
func declaresURLElicitation(caps json.RawMessage) bool {
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

package aggregator

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// pageSize is how many items one page of a merged list holds. vmcp pages through every
// connector itself and mints its own cursors over the merged list, so a connector's cursor never
// reaches a client (docs/design.md, "Lessons").
var pageSize = 500

// cursorPrefix marks cursors vmcp minted; anything else is refused rather than guessed at.
const cursorPrefix = "vmcp1."

// cursorParam reads params.cursor; "" for the first page.
func cursorParam(params json.RawMessage) (string, *jsonrpc.Error) {
	if len(params) == 0 {
		return "", nil
	}
	var p struct {
		Cursor *string `json:"cursor"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		// Methods without a cursor have their own params; only a malformed cursor is an error.
		return "", nil
	}
	if p.Cursor == nil {
		return "", nil
	}
	return *p.Cursor, nil
}

// page cuts one page out of a merged list. The cursor is the offset of the next page: a list
// that changes between pages may repeat or skip an item, which MCP allows of any cursor.
func page(items []json.RawMessage, key, cursor string) (map[string]any, *jsonrpc.Error) {
	start := 0
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(cursor, cursorPrefix))
		n, err2 := strconv.Atoi(string(raw))
		if !strings.HasPrefix(cursor, cursorPrefix) || err != nil || err2 != nil || n < 0 {
			return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid cursor")
		}
		start = min(n, len(items))
	}
	end := min(start+pageSize, len(items))
	out := map[string]any{key: items[start:end]}
	if end < len(items) {
		out["nextCursor"] = cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return out, nil
}

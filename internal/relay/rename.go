package relay

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// Rename is a routed name as the client sent it (Name, "notes__add_note") and as the connector
// knows it (Original, "add_note").
type Rename struct{ Original, Name string }

// renameInError makes a connector's error message name what the client sent: a connector that
// says unknown tool "nope" is answering the client's "notes__nope", and only that name means
// anything to the client. It reports whether m changed.
func (rn Rename) renameInError(m *jsonrpc.Message) bool {
	if rn.Original == "" || rn.Original == rn.Name || m.Method != "" || m.Error == nil {
		return false
	}
	msg := m.Error.Message
	if q := strconv.Quote(rn.Original); strings.Contains(msg, q) {
		m.Error.Message = strings.ReplaceAll(msg, q, strconv.Quote(rn.Name))
		return true
	}
	// Unquoted ("Tool nope not found", as the TypeScript SDK words it): only whole names.
	var b strings.Builder
	changed := false
	for i := 0; i < len(msg); {
		j := strings.Index(msg[i:], rn.Original)
		if j < 0 {
			b.WriteString(msg[i:])
			break
		}
		start, end := i+j, i+j+len(rn.Original)
		b.WriteString(msg[i:start])
		if (start == 0 || !nameByte(msg[start-1])) && (end == len(msg) || !nameByte(msg[end])) {
			b.WriteString(rn.Name)
			changed = true
		} else {
			b.WriteString(rn.Original)
		}
		i = end
	}
	if changed {
		m.Error.Message = b.String()
	}
	return changed
}

// nameByte reports whether c can be part of an MCP tool name.
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/'
}

// RenameInErrorBody is renameInError for a whole JSON answer: the body to send instead, or nil
// when it is not an error naming the connector's name.
func (rn Rename) RenameInErrorBody(body []byte) []byte {
	m, err := jsonrpc.Parse(body)
	if err != nil || !rn.renameInError(m) {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

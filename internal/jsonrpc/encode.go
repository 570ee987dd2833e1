package jsonrpc

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Encode writes m as JSON, as json.Marshal does but for the checks: its raw members (id,
// params, result, error data) go out as they are, which json.Marshal would scan and compact
// again. They must be valid JSON, as Parse and json.Marshal leave them.
func (m *Message) Encode() []byte {
	n := 32 + len(m.ID) + len(m.Method) + len(m.Params) + len(m.Result)
	if m.Error != nil {
		n += 48 + len(m.Error.Message) + len(m.Error.Data)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"jsonrpc":`...)
	b = appendString(b, m.JSONRPC)
	if len(m.ID) > 0 {
		b = append(append(b, `,"id":`...), m.ID...)
	}
	if m.Method != "" {
		b = appendString(append(b, `,"method":`...), m.Method)
	}
	if len(m.Params) > 0 {
		b = append(append(b, `,"params":`...), m.Params...)
	}
	if len(m.Result) > 0 {
		b = append(append(b, `,"result":`...), m.Result...)
	}
	if e := m.Error; e != nil {
		b = strconv.AppendInt(append(b, `,"error":{"code":`...), int64(e.Code), 10)
		b = appendString(append(b, `,"message":`...), e.Message)
		if len(e.Data) > 0 {
			b = append(append(b, `,"data":`...), e.Data...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// EncodeObject writes members as a JSON object with its keys in order, as json.Marshal does, and
// the values as they are (valid JSON, as Encode's raw members).
func EncodeObject(members map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(members))
	n := 2
	for k, v := range members {
		keys = append(keys, k)
		n += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		b = append(b, members[k]...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. Plain text is copied as it is; anything that needs
// escaping goes through encoding/json, whose escaping (invalid UTF-8 replaced, U+2028 and U+2029
// escaped) it then keeps.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Package jsonrpc parses and writes the JSON-RPC 2.0 messages MCP is made of, strictly: a message
// that two JSON parsers could read differently (duplicate keys, say) is refused, because the
// policy engine and the connector must see the same request.
package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Standard JSON-RPC and MCP error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeForbidden is vmcp's answer to a call a policy denied (an implementation-defined
	// server error in JSON-RPC's reserved range).
	CodeForbidden = -32003
)

// MaxDepth bounds nesting so a hostile body cannot make any parser recurse without end.
const MaxDepth = 64

// Message is one JSON-RPC request, notification or response.
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// IsRequest reports whether m expects an answer.
func (m *Message) IsRequest() bool { return m.Method != "" && len(m.ID) > 0 }

// IsNotification reports whether m is a notification.
func (m *Message) IsNotification() bool { return m.Method != "" && len(m.ID) == 0 }

// Error is a JSON-RPC error object.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// Errorf builds an Error.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrBatch is returned for a JSON array body: batches were removed from MCP in 2025-06-18.
var ErrBatch = &Error{Code: CodeInvalidRequest, Message: "JSON-RPC batches are not supported"}

// Parse reads exactly one JSON-RPC message from body. The returned error is an *Error fit to
// send back to the client.
func Parse(body []byte) (*Message, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, Errorf(CodeInvalidRequest, "empty request body")
	}
	if body[0] == '[' {
		return nil, ErrBatch
	}
	if err := checkStrict(body, true); err != nil {
		return nil, err
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, Errorf(CodeInvalidRequest, "not a JSON-RPC message: %s", shortJSONError(err))
	}
	if m.JSONRPC != "2.0" {
		return nil, Errorf(CodeInvalidRequest, `"jsonrpc" must be "2.0"`)
	}
	if len(m.ID) > 0 && !validID(m.ID) {
		return nil, Errorf(CodeInvalidRequest, `"id" must be a string or an integer`)
	}
	if m.Method == "" && m.Result == nil && m.Error == nil {
		return nil, Errorf(CodeInvalidRequest, "message has neither a method nor a result")
	}
	return &m, nil
}

// validID accepts the id types MCP allows: strings and integers (never null).
func validID(id json.RawMessage) bool {
	if id[0] == '"' {
		return true
	}
	_, err := strconv.ParseInt(string(id), 10, 64)
	return err == nil
}

// CheckStrict rejects invalid JSON, duplicate object keys and nesting deeper than MaxDepth.
// body must hold exactly one JSON value, with nothing but white space after it.
func CheckStrict(body []byte) error { return checkStrict(body, false) }

// envelopeKeys are the members of a JSON-RPC message. encoding/json matches object keys to
// struct fields case-insensitively (with Unicode simple folding: "paramſ" is "params" to it),
// and the last match wins, so {"method":"a","Method":"b"} is method "b" here and "a" to a
// case-sensitive parser downstream: the same attack as a duplicate key.
var envelopeKeys = []string{"jsonrpc", "id", "method", "params", "result", "error"}

func checkStrict(body []byte, envelope bool) error {
	sc := &scanner{b: body, envelope: envelope}
	sc.ws()
	if sc.i >= len(body) {
		return Errorf(CodeParseError, "invalid JSON: no value")
	}
	top := plainObj
	if envelope {
		top = envelopeObj
	}
	if err := sc.value(top); err != nil {
		return err
	}
	sc.ws()
	// A second value after the first is trailing data, not a second message.
	if sc.i < len(body) {
		return Errorf(CodeParseError, "invalid JSON: trailing data")
	}
	return nil
}

func checkEnvelopeKey(k string) error {
	for _, m := range envelopeKeys {
		if k != m && strings.EqualFold(k, m) {
			return Errorf(CodeInvalidRequest, "key %q differs from %q only in case", Excerpt(k), m)
		}
	}
	return nil
}

// paramsKeys are the params members vmcp, its policies and its audit read (tools/call and
// prompts/get name and arguments, resources/* uri, completion ref and argument, list cursors,
// _meta, initialize's fields). A connector that decodes params with encoding/json matches keys
// case-insensitively and takes the last match, so {"arguments":{…},"argumentſ":{…}} would run
// arguments no policy checked: a key that folds to one of these without being it is refused.
var paramsKeys = []string{"name", "arguments", "uri", "_meta", "cursor", "ref", "argument", "context",
	"protocolVersion", "capabilities", "clientInfo", "level"}

func checkParamsKey(k string) error {
	for _, m := range paramsKeys {
		if k != m && strings.EqualFold(k, m) {
			return Errorf(CodeInvalidParams, "params key %q differs from %q only in case", Excerpt(k), m)
		}
	}
	return nil
}

// foldKey is k with every rune replaced by the smallest member of its Unicode simple case-folding
// orbit: two keys have the same foldKey exactly when strings.EqualFold (and encoding/json's key
// matching) holds them equal — "ſ" and "s", "K" (Kelvin sign) and "k" included.
func foldKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range k {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// Excerpt bounds how much of untrusted input an error message echoes (64 bytes, cut on a rune
// boundary) and replaces invalid UTF-8, so that an answer quoting it stays valid JSON text.
func Excerpt(s string) string {
	if len(s) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// shortJSONError keeps encoding/json's reason but not any echo of the input.
func shortJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "malformed"
}

// ErrorResponse encodes an error answer to the request with id (null when unknown).
func ErrorResponse(id json.RawMessage, e *Error) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(Message{JSONRPC: "2.0", ID: id, Error: e})
	return b
}

// Encoded is JSON that vmcp built itself from values json.Unmarshal accepted: ResultResponse
// writes it as it is, where json.Marshal would scan it again to validate and compact it (for a
// thousand-tool list, as costly as building it).
type Encoded []byte

// ResultResponse encodes a successful answer. A result that is a map may hold Encoded values.
func ResultResponse(id json.RawMessage, result any) ([]byte, error) {
	// The envelope is written by hand: json.Marshal of a Message would validate and compact the
	// result a second time, which for a thousand-tool list costs as much as encoding it did.
	b := bytes.NewBuffer(make([]byte, 0, encodedSize(result)+len(id)+64))
	b.WriteString(`{"jsonrpc":"2.0"`)
	if len(id) > 0 {
		b.WriteString(`,"id":`)
		if err := json.Compact(b, id); err != nil {
			return nil, fmt.Errorf("id: %w", err)
		}
	}
	b.WriteString(`,"result":`)
	if err := encodeResult(b, result); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodedSize is the size of a map result's Encoded values, so the answer is allocated once.
func encodedSize(result any) int {
	m, _ := result.(map[string]any)
	size := 0
	for _, v := range m {
		if enc, ok := v.(Encoded); ok {
			size += len(enc)
		}
	}
	return size + 64*len(m)
}

// encodeResult writes result as json.Marshal would, except that Encoded values of a map result
// are copied, not re-scanned. Keys come out sorted, as json.Marshal writes a map.
func encodeResult(b *bytes.Buffer, result any) error {
	m, ok := result.(map[string]any)
	if !ok {
		raw, err := json.Marshal(result)
		b.Write(raw)
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k) // a string always encodes
		b.Write(kb)
		b.WriteByte(':')
		if enc, ok := m[k].(Encoded); ok {
			b.Write(enc)
			continue
		}
		vb, err := json.Marshal(m[k])
		if err != nil {
			return fmt.Errorf("result %s: %w", k, err)
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return nil
}

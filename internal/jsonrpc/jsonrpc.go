// Package jsonrpc parses and writes the JSON-RPC 2.0 messages MCP is made of, strictly: a message
// that two JSON parsers could read differently (duplicate keys, say) is refused, because the
// policy engine and the connector must see the same request.
package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Standard JSON-RPC and MCP error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
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
	if err := CheckStrict(body); err != nil {
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
func CheckStrict(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		keys  map[string]struct{}
		isObj bool
		// expectKey is true in an object when the next token is a key.
		expectKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 {
				return Errorf(CodeParseError, "invalid JSON: unexpected end of input")
			}
			break
		}
		if err != nil {
			return Errorf(CodeParseError, "invalid JSON: %s", shortJSONError(err))
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top >= 0 && stack[top].isObj {
					stack[top].expectKey = true
				}
				if len(stack) >= MaxDepth {
					return Errorf(CodeInvalidRequest, "JSON nested deeper than %d levels", MaxDepth)
				}
				stack = append(stack, frame{isObj: t == '{', expectKey: t == '{'})
			default:
				stack = stack[:top]
			}
			continue
		case string:
			if top >= 0 && stack[top].isObj && stack[top].expectKey {
				if stack[top].keys == nil {
					stack[top].keys = make(map[string]struct{}, 4)
				}
				if _, dup := stack[top].keys[t]; dup {
					return Errorf(CodeInvalidRequest, "duplicate key %q in JSON object", truncate(t))
				}
				stack[top].keys[t] = struct{}{}
				stack[top].expectKey = false
				continue
			}
		}
		if top >= 0 && stack[top].isObj {
			stack[top].expectKey = true
		}
	}
	if dec.More() {
		return Errorf(CodeParseError, "invalid JSON: trailing data")
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
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

// ResultResponse encodes a successful answer.
func ResultResponse(id json.RawMessage, result any) ([]byte, error) {
	raw, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Message{JSONRPC: "2.0", ID: id, Result: raw})
}

package jsonrpc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vmcp-dev/vmcp/internal/cputime"
)

// nested returns a request whose params nest depth-1 arrays, so the whole body is depth levels
// deep.
func nested(depth int) string {
	return `{"jsonrpc":"2.0","id":1,"method":"m","params":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
}

func TestParseAcceptsMessages(t *testing.T) {
	for _, tc := range []struct {
		name       string
		body       string
		method     string
		id         string
		request    bool
		notify     bool
		hasResult  bool
		errCode    int
		paramsJSON string
	}{
		{name: "a request with an integer id", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, method: "tools/list", id: "1", request: true},
		{name: "a request with a string id", body: `{"jsonrpc":"2.0","id":"abc-1","method":"ping"}`, method: "ping", id: `"abc-1"`, request: true},
		{name: "a request with a negative id", body: `{"jsonrpc":"2.0","id":-7,"method":"ping"}`, method: "ping", id: "-7", request: true},
		{name: "a request with an empty string id", body: `{"jsonrpc":"2.0","id":"","method":"ping"}`, method: "ping", id: `""`, request: true},
		{name: "a request with params", body: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"notes__add","arguments":{"text":"hi","tags":["a","b"]}}}`, method: "tools/call", id: "2", request: true, paramsJSON: `{"name":"notes__add","arguments":{"text":"hi","tags":["a","b"]}}`},
		{name: "a notification", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, method: "notifications/initialized", notify: true},
		{name: "a response with a result", body: `{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}`, id: "3", hasResult: true},
		{name: "a response with a null result", body: `{"jsonrpc":"2.0","id":3,"result":null}`, id: "3", hasResult: true},
		{name: "an error response", body: `{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no such method"}}`, id: `"x"`, errCode: -32601},
		{name: "a message surrounded by white space", body: " \r\n\t{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n ", method: "ping", id: "1", request: true},
		{name: "a message with keys in any order", body: `{"method":"ping","id":1,"jsonrpc":"2.0"}`, method: "ping", id: "1", request: true},
		{name: "the same key in sibling objects", body: `{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":{"name":1},"b":{"name":2}}}`, method: "m", id: "1", request: true, paramsJSON: `{"a":{"name":1},"b":{"name":2}}`},
		{name: "keys that differ only in case inside a tool's arguments", body: `{"jsonrpc":"2.0","id":1,"method":"m","params":{"arguments":{"ID":1,"id":2}}}`, method: "m", id: "1", request: true, paramsJSON: `{"arguments":{"ID":1,"id":2}}`},
		{name: "nesting exactly MaxDepth levels deep", body: nested(MaxDepth), method: "m", id: "1", request: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Method != tc.method || string(m.ID) != tc.id {
				t.Errorf("method %q id %s, want %q %s", m.Method, m.ID, tc.method, tc.id)
			}
			if m.IsRequest() != tc.request || m.IsNotification() != tc.notify {
				t.Errorf("IsRequest %v IsNotification %v, want %v %v", m.IsRequest(), m.IsNotification(), tc.request, tc.notify)
			}
			if (m.Result != nil) != tc.hasResult {
				t.Errorf("result %s, want present=%v", m.Result, tc.hasResult)
			}
			if tc.errCode != 0 && (m.Error == nil || m.Error.Code != tc.errCode) {
				t.Errorf("error %+v, want code %d", m.Error, tc.errCode)
			}
			if tc.paramsJSON != "" && string(m.Params) != tc.paramsJSON {
				t.Errorf("params %s, want %s", m.Params, tc.paramsJSON)
			}
		})
	}
}

func TestParseRejectsMessages(t *testing.T) {
	long := strings.Repeat("k", 200)
	for _, tc := range []struct {
		name    string
		body    string
		code    int
		message string
	}{
		{"an empty body", ``, CodeInvalidRequest, "empty request body"},
		{"a body of white space", " \n\t ", CodeInvalidRequest, "empty request body"},
		{"a batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, CodeInvalidRequest, "JSON-RPC batches are not supported"},
		{"an empty batch", `[]`, CodeInvalidRequest, "JSON-RPC batches are not supported"},
		{"a batch after white space", "\n [{}]", CodeInvalidRequest, "JSON-RPC batches are not supported"},
		{"a duplicate top-level key", `{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}`, CodeInvalidRequest, `duplicate key "id" in JSON object`},
		{"a duplicate method", `{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}`, CodeInvalidRequest, `duplicate key "method" in JSON object`},
		{"a duplicate name inside params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__read","name":"notes__delete"}}`, CodeInvalidRequest, `duplicate key "name" in JSON object`},
		{"a duplicate key spelt with an escape", `{"jsonrpc":"2.0","id":1,"method":"a","\u006dethod":"b"}`, CodeInvalidRequest, `duplicate key "method" in JSON object`},
		{"a duplicate key deep inside arguments", `{"jsonrpc":"2.0","id":1,"method":"m","params":{"arguments":{"a":[{"x":{"y":1,"y":2}}]}}}`, CodeInvalidRequest, `duplicate key "y" in JSON object`},
		{"a duplicate key after a nested array", `{"jsonrpc":"2.0","id":1,"method":"m","params":{"list":[1,[2]],"name":"a","name":"b"}}`, CodeInvalidRequest, `duplicate key "name" in JSON object`},
		{"a duplicate key after a nested object", `{"jsonrpc":"2.0","id":1,"method":"m","params":{"o":{"p":{}},"name":"a","name":"b"}}`, CodeInvalidRequest, `duplicate key "name" in JSON object`},
		{"a duplicate long key, quoted at most 64 bytes", `{"jsonrpc":"2.0","id":1,"method":"m","params":{"` + long + `":1,"` + long + `":2}}`, CodeInvalidRequest, `duplicate key "` + long[:64] + `…" in JSON object`},
		{"a method key that differs only in case", `{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`, CodeInvalidRequest, `key "Method" differs from "method" only in case`},
		{"a params key that differs only in case", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"PARAMS":{"name":"b"}}`, CodeInvalidRequest, `key "PARAMS" differs from "params" only in case`},
		{"a params key spelt with a long s, which encoding/json folds to params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"paramſ":{"name":"b"}}`, CodeInvalidRequest, `key "paramſ" differs from "params" only in case`},
		{"an arguments key spelt with a long s next to arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"path":"/tmp"},"argumentſ":{"path":"/etc"}}}`, CodeInvalidParams, `params key "argumentſ" differs from "arguments" only in case`},
		{"an Arguments key alone", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","Arguments":{"path":"/etc"}}}`, CodeInvalidParams, `params key "Arguments" differs from "arguments" only in case`},
		{"a name key with a Kelvin sign", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a://x","URI":"a://y"}}`, CodeInvalidParams, `params key "URI" differs from "uri" only in case`},
		{"a _meta key in capitals", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_META":{}}}`, CodeInvalidParams, `params key "_META" differs from "_meta" only in case`},
		{"a cursor key that folds", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"a","curſor":"b"}}`, CodeInvalidParams, `params key "curſor" differs from "cursor" only in case`},
		{"two unknown params keys that fold together", `{"jsonrpc":"2.0","id":1,"method":"x/y","params":{"task":{},"TASK":{}}}`, CodeInvalidParams, `params keys "task" and "TASK" differ only in case`},
		{"two unknown params keys that fold by a Kelvin sign", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x/y\",\"params\":{\"kind\":1,\"\u212aind\":2}}", CodeInvalidParams, "params keys \"kind\" and \"\u212aind\" differ only in case"},
		{"two _meta keys that fold together", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25","IO.modelcontextprotocol/protocolversion":"2026-07-28"}}}`, CodeInvalidParams, `params keys "io.modelcontextprotocol/protocolVersion" and "IO.modelcontextprotocol/protocolversion" differ only in case`},
		{"an escaped params key that folds", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","\u0041rguments":{}}}`, CodeInvalidParams, `params key "Arguments" differs from "arguments" only in case`},
		{"nesting deeper than MaxDepth", nested(MaxDepth + 1), CodeInvalidRequest, "JSON nested deeper than 64 levels"},
		{"very deep nesting", `{"params":` + strings.Repeat(`{"a":`, 100000), CodeInvalidRequest, "JSON nested deeper than 64 levels"},
		{"a second message after the first", `{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}`, CodeParseError, "invalid JSON: trailing data"},
		{"a number after the message", `{"jsonrpc":"2.0","id":1,"method":"ping"} 1`, CodeParseError, "invalid JSON: trailing data"},
		{"garbage after the message", `{"jsonrpc":"2.0","id":1,"method":"ping"}x`, CodeParseError, "invalid JSON: trailing data"},
		{"an unterminated object", `{"jsonrpc":"2.0","id":1`, CodeParseError, "invalid JSON: unexpected end of input"},
		{"a missing colon", `{"jsonrpc" "2.0"}`, CodeParseError, "invalid JSON: syntax error at byte 11"},
		{"a trailing comma", `{"jsonrpc":"2.0",}`, CodeParseError, "invalid JSON: syntax error at byte 17"},
		{"a jsonrpc version of 1.0", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, CodeInvalidRequest, `"jsonrpc" must be "2.0"`},
		{"a missing jsonrpc member", `{"id":1,"method":"ping"}`, CodeInvalidRequest, `"jsonrpc" must be "2.0"`},
		{"a numeric jsonrpc member", `{"jsonrpc":2.0,"id":1,"method":"ping"}`, CodeInvalidRequest, `not a JSON-RPC message: field "jsonrpc" has the wrong type`},
		{"a numeric method", `{"jsonrpc":"2.0","id":1,"method":5}`, CodeInvalidRequest, `not a JSON-RPC message: field "method" has the wrong type`},
		{"a null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, CodeInvalidRequest, `"id" must be a string or an integer`},
		{"a float id", `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, CodeInvalidRequest, `"id" must be a string or an integer`},
		{"an exponent id", `{"jsonrpc":"2.0","id":1e3,"method":"ping"}`, CodeInvalidRequest, `"id" must be a string or an integer`},
		{"an object id", `{"jsonrpc":"2.0","id":{"n":1},"method":"ping"}`, CodeInvalidRequest, `"id" must be a string or an integer`},
		{"an array id", `{"jsonrpc":"2.0","id":[1],"method":"ping"}`, CodeInvalidRequest, `"id" must be a string or an integer`},
		{"a boolean id", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, CodeInvalidRequest, `"id" must be a string or an integer`},
		{"neither a method nor a result", `{"jsonrpc":"2.0","id":1}`, CodeInvalidRequest, "message has neither a method nor a result"},
		{"a null error and no result", `{"jsonrpc":"2.0","id":1,"error":null}`, CodeInvalidRequest, "message has neither a method nor a result"},
		{"a bare string", `"ping"`, CodeInvalidRequest, `not a JSON-RPC message: field "" has the wrong type`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.body))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", m)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse returned %T, want *Error", err)
			}
			if e.Code != tc.code || e.Message != tc.message {
				t.Errorf("Parse error %d %q, want %d %q", e.Code, e.Message, tc.code, tc.message)
			}
		})
	}
}

func TestABatchIsErrBatch(t *testing.T) {
	_, err := Parse([]byte(`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`))
	if !errors.Is(err, ErrBatch) {
		t.Errorf("Parse = %v, want ErrBatch", err)
	}
}

func TestParseErrorsEchoAtMost64CharactersOfInput(t *testing.T) {
	for _, tc := range []struct{ name, key string }{
		{"an ASCII key", strings.Repeat("A", 1000)},
		{"a key of two-byte runes is cut on a rune boundary", "a" + strings.Repeat("é", 500)},
		{"a key of four-byte runes is cut on a rune boundary", "ab" + strings.Repeat("😀", 300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range []string{
				`{"jsonrpc":"2.0","id":1,"method":"m","params":{"` + tc.key + `":1,"` + tc.key + `":2}}`,
				`{"jsonrpc":"2.0","id":1,"method":"` + tc.key + `","params":` + strings.Repeat("[", 70) + `}`,
				`{"jsonrpc":"2.0","id":1,"method":"` + tc.key + `"}` + tc.key,
				`{"jsonrpc":"1.0","id":1,"method":"` + tc.key + `"}`,
				`{"jsonrpc":"2.0","id":1,"method":"` + tc.key + `","id":2}`,
			} {
				_, err := Parse([]byte(body))
				if err == nil {
					t.Fatal("Parse accepted the body")
				}
				msg := err.Error()
				// A rune cut in half would show as a \x escape from %q.
				if !utf8.ValidString(msg) || strings.Contains(msg, `\x`) {
					t.Errorf("error splits a rune: %q", msg)
				}
				// No run of the key longer than 64 bytes appears in the message.
				if strings.Contains(msg, tc.key[:65]) {
					t.Errorf("error echoes more than 64 bytes of input: %d bytes", len(msg))
				}
				if len(msg) > 200 {
					t.Errorf("error is %d bytes long", len(msg))
				}
			}
		})
	}
}

func TestCheckStrictTakesExactlyOneValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		ok   bool
	}{
		{"a bare number", `1`, true},
		{"a bare string with white space around it", ` "s" `, true},
		{"an array of objects", `[{"a":1},{"a":1}]`, true},
		{"an empty input", ``, false},
		{"white space only", "  \n", false},
		{"two numbers", `1 2`, false},
		{"two objects", `{} {}`, false},
		{"an object and an array", `{}[]`, false},
		{"an unclosed array", `[1,`, false},
		{"a stray closing bracket", `]`, false},
		{"keys differing only in case, which only Parse's envelope refuses", `{"Method":1,"method":2}`, true},
		{"a duplicate key", `{"a":1,"a":2}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStrict([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Errorf("CheckStrict(%q) = %v, want ok=%v", tc.body, err, tc.ok)
			}
			if (err == nil) && !json.Valid([]byte(tc.body)) {
				t.Errorf("CheckStrict accepted %q, which encoding/json calls invalid", tc.body)
			}
		})
	}
}

func TestResponsesEncodeAsJSONRPC(t *testing.T) {
	res, err := ResultResponse(json.RawMessage(`7`), map[string]any{"tools": []string{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"an error answer to a known id", ErrorResponse(json.RawMessage(`"a"`), Errorf(CodeMethodNotFound, "no method %q", "x")), `{"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"no method \"x\""}}`},
		{"an error answer to an unknown id has a null id", ErrorResponse(nil, ErrBatch), `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"JSON-RPC batches are not supported"}}`},
		{"a result answer", res, `{"jsonrpc":"2.0","id":7,"result":{"tools":[]}}`},
		{"a result with encoded parts and escapes", mustResult(t, json.RawMessage(` "x" `), map[string]any{"tools": Encoded(`[{"a":1}]`), "note": "<&>", "n": 2}),
			`{"jsonrpc":"2.0","id":"x","result":{"n":2,"note":"\u003c\u0026\u003e","tools":[{"a":1}]}}`},
		{"a result that is not a map", mustResult(t, json.RawMessage(`1`), []int{1}), `{"jsonrpc":"2.0","id":1,"result":[1]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Errorf("got  %s\nwant %s", tc.got, tc.want)
			}
			if _, err := Parse(tc.got); err != nil && !strings.Contains(tc.want, `"id":null`) {
				t.Errorf("our own answer does not parse: %v", err)
			}
		})
	}
}

func TestErrorStringNamesCodeAndMessage(t *testing.T) {
	if got, want := Errorf(CodeInvalidParams, "bad %s", "x").Error(), "JSON-RPC error -32602: bad x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// BenchmarkParse measures the per-request cost extproc pays for every MCP body.
func BenchmarkParse(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"title":"standup","text":"ship the gateway","tags":["eng","weekly"]},"_meta":{"progressToken":"p-1"}}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	defer cputime.Start(b)()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func mustResult(t *testing.T, id json.RawMessage, result any) []byte {
	t.Helper()
	b, err := ResultResponse(id, result)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

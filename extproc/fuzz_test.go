package extproc

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// FuzzEdgeRewrite sends any body through the edge as a verified caller's request and checks the
// processor's answer: never a panic; a refusal is one valid JSON-RPC error; a rewrite is a body
// vmcp's own strict parser accepts, with the method, id and arguments the client sent, the tool
// name the connector knows, a content-length that matches, and a routing header naming a
// connector of the virtual server; anything else goes to the aggregator untouched.
func FuzzEdgeRewrite(f *testing.F) {
	srv, _ := newTestServer(&testing.T{})
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"title":"a","body":"b"}}}`,
		`{"jsonrpc":"2.0","id":"x","method":"prompts/get","params":{"name":"notes__summary","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather__get_forecast","name":"notes__add_note"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"a":{"a":{"a":[1,2,{"b":null}]}}},"_meta":{"progressToken":1}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note\u0000"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note"}}]`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1e400,"method":"tools/call","params":{"name":"notes__add_note"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"notes__add_note"}`,
		"\xef\xbb\xbf{}", ``, `null`,
	} {
		f.Add([]byte(seed))
	}
	connectors := map[string]bool{"notes": true, "weather": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := exchange(t, srv, "", string(body))
		if ir := resp.GetImmediateResponse(); ir != nil {
			var m struct {
				JSONRPC string          `json:"jsonrpc"`
				Error   *jsonrpc.Error  `json:"error"`
				ID      json.RawMessage `json:"id"`
			}
			if err := json.Unmarshal(ir.Body, &m); err != nil || m.JSONRPC != "2.0" || m.Error == nil || m.Error.Code == 0 {
				t.Fatalf("refusal is not one JSON-RPC error: %s", ir.Body)
			}
			return
		}
		c := resp.GetRequestBody().GetResponse()
		if c == nil {
			t.Fatalf("neither a refusal nor a body answer: %v", resp)
		}
		out := c.GetBodyMutation().GetBody()
		if out == nil {
			if c.HeaderMutation != nil || c.ClearRouteCache {
				t.Fatalf("an untouched body with header changes: %v", c)
			}
			return
		}
		in, err := jsonrpc.Parse(body)
		if err != nil {
			t.Fatalf("rewrote a body vmcp's parser refuses (%v): %q", err, body)
		}
		msg, err := jsonrpc.Parse(out)
		if err != nil {
			t.Fatalf("the rewritten body does not parse (%v): %s", err, out)
		}
		if msg.Method != in.Method || string(msg.ID) != string(in.ID) {
			t.Fatalf("method or id changed: %s -> %s", body, out)
		}
		var inParams, outParams map[string]json.RawMessage
		if json.Unmarshal(in.Params, &inParams) != nil || json.Unmarshal(msg.Params, &outParams) != nil {
			t.Fatalf("params unreadable: %s -> %s", body, out)
		}
		if len(inParams) != len(outParams) {
			t.Fatalf("params gained or lost members: %s -> %s", body, out)
		}
		if a, b := normalized(t, inParams["arguments"]), normalized(t, outParams["arguments"]); a != b {
			t.Fatalf("arguments changed: %s -> %s", a, b)
		}
		h := setHeaders(resp)
		if h["content-length"] != strconv.Itoa(len(out)) {
			t.Fatalf("content-length %q for a %d byte body", h["content-length"], len(out))
		}
		if !connectors[h["x-vmcp-connector"]] {
			t.Fatalf("routed to %q", h["x-vmcp-connector"])
		}
		var name string
		if json.Unmarshal(outParams["name"], &name) != nil || name == "" {
			t.Fatalf("forwarded name %s", outParams["name"])
		}
	})
}

// normalized re-encodes a JSON value so that equal values compare equal.
func normalized(t *testing.T, raw json.RawMessage) string {
	if raw == nil {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "unreadable: " + string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

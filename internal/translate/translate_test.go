package translate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var revisions = []string{V20250326, V20250618, V20251125, V20260728}

// golden is one file of testdata: a message a connector sends, and what a client gets.
type golden struct {
	Client, Connector, Method string
	Logs                      bool
	In                        json.RawMessage
	Want                      json.RawMessage // null: the client gets nothing
}

// TestGoldenTranscriptsTranslateAsRecorded reads every testdata file: a message of the
// connector's revision and the message a client of its own revision must get.
func TestGoldenTranscriptsTranslateAsRecorded(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var g golden
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			out, keep := For(g.Client, g.Connector, g.Method).WithLogs(g.Logs).Bytes(g.In)
			if string(g.Want) == "null" {
				if keep {
					t.Fatalf("kept %s, want it dropped", out)
				}
				return
			}
			if !keep {
				t.Fatal("dropped, want it kept")
			}
			if !sameJSON(out, g.Want) {
				t.Errorf("got  %s\nwant %s", out, g.Want)
			}
		})
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// connectorAnswer is what a connector of revision v answers a tools/call with, using what v
// allows: resource links from 2025-06-18, resultType and any structuredContent in 2026-07-28.
func connectorAnswer(v string) []byte {
	switch v {
	case V20250326:
		return []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`)
	case V20260728:
		return []byte(`{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","content":[{"type":"resource_link","uri":"a://1","name":"one"}],"structuredContent":"ok"}}`)
	default:
		return []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"resource_link","uri":"a://1","name":"one"}],"structuredContent":{"v":"ok"}}}`)
	}
}

// validFor checks a tools/call answer against what revision v's schema requires.
func validFor(t *testing.T, v string, msg []byte) {
	t.Helper()
	var m struct {
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(msg, &m); err != nil || m.Result == nil {
		t.Fatalf("%s: not a result: %s", v, msg)
	}
	_, typed := m.Result["resultType"]
	if v == V20260728 && string(m.Result["resultType"]) != `"complete"` {
		t.Errorf("%s: resultType is required: %s", v, msg)
	}
	if v != V20260728 && typed {
		t.Errorf("%s: resultType is not of this revision: %s", v, msg)
	}
	if sc, ok := m.Result["structuredContent"]; ok && v != V20260728 && sc[0] != '{' {
		t.Errorf("%s: structuredContent must be an object: %s", v, msg)
	}
	if v == V20250326 && bytes.Contains(m.Result["content"], []byte("resource_link")) {
		t.Errorf("%s: resource_link is not a content type of this revision: %s", v, msg)
	}
}

// TestEveryRevisionPairGivesTheClientAResultOfItsOwnRevision runs a tools/call answer of each
// connector revision through the translator to each client revision.
func TestEveryRevisionPairGivesTheClientAResultOfItsOwnRevision(t *testing.T) {
	for _, connector := range revisions {
		for _, client := range revisions {
			t.Run(connector+"_to_"+client, func(t *testing.T) {
				out, keep := For(client, connector, "tools/call").Bytes(connectorAnswer(connector))
				if !keep {
					t.Fatal("the answer was dropped")
				}
				validFor(t, client, out)
			})
		}
	}
}

func TestPairsThatAgreeNeedNoTranslator(t *testing.T) {
	for _, tc := range []struct{ client, connector, method string }{
		{V20251125, V20251125, "tools/call"},
		{V20260728, V20260728, "tools/call"},
		{V20251125, V20250326, "tools/call"},     // older into newer 2025: nothing new to the client
		{V20250618, V20251125, "tools/call"},     // 2025-11-25 adds only fields 2025-06-18 ignores
		{V20250326, V20251125, "resources/read"}, // no content blocks in a read
		{"", V20250326, "tools/call"},            // no header: 2025-03-26
		{"2027-01-01", V20260728, "tools/call"},  // both sessionless revisions
		{V20250618, V20250618, "notifications/x"},
	} {
		if tr := For(tc.client, tc.connector, tc.method); tr != nil {
			t.Errorf("For(%q, %q, %q) = %+v, want nil", tc.client, tc.connector, tc.method, tr)
		}
	}
	var nilT *Translator
	in := []byte(`{"jsonrpc":"2.0","id":1,"result":{}}`)
	if out, keep := nilT.Bytes(in); !keep || &out[0] != &in[0] {
		t.Error("a nil translator must hand the same bytes back")
	}
}

func TestBytesThatAreNotJSONRPCPassUnchanged(t *testing.T) {
	tr := For(V20260728, V20251125, "tools/call")
	for _, in := range []string{``, `not json`, `[1]`, `{"jsonrpc":"2.0","id":1,"result":[1]}`} {
		out, keep := tr.Bytes([]byte(in))
		if !keep || string(out) != in {
			t.Errorf("%q became %q (keep %v)", in, out, keep)
		}
	}
}

func TestRequestParamsSpeakTheConnectorsRevision(t *testing.T) {
	for _, tc := range []struct {
		name, client, connector, in, want string
	}{
		{"a 2026-07-28 request loses its protocol fields for a 2025 connector", V20260728, V20251125,
			`{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":3},"inputResponses":{"a":{}},"requestState":"s"}`,
			`{"name":"t","_meta":{"progressToken":3}}`},
		{"an empty _meta goes", V20260728, V20250326,
			`{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`,
			`{"name":"t"}`},
		{"a 2025 request gains the revision and no capabilities for a 2026-07-28 connector", V20250618, V20260728,
			`{"name":"t","_meta":{"progressToken":"p"}}`,
			`{"name":"t","_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}`},
		{"the same revision passes", V20251125, V20250618,
			`{"name":"t","_meta":{"io.modelcontextprotocol/x":1}}`,
			`{"name":"t","_meta":{"io.modelcontextprotocol/x":1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p map[string]json.RawMessage
			json.Unmarshal([]byte(tc.in), &p)
			RequestParams(p, tc.client, tc.connector)
			got, _ := json.Marshal(p)
			if !sameJSON(got, []byte(tc.want)) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAsksForLogs(t *testing.T) {
	var p map[string]json.RawMessage
	json.Unmarshal([]byte(`{"_meta":{"io.modelcontextprotocol/logLevel":"info"}}`), &p)
	if !AsksForLogs(p) || AsksForLogs(map[string]json.RawMessage{}) {
		t.Error("AsksForLogs reads _meta's logLevel")
	}
}

// BenchmarkTranslate measures a tools/call answer of about 4 KB: passing it between agreeing
// revisions, and adding resultType for a 2026-07-28 client.
func BenchmarkTranslate(b *testing.B) {
	text := strings.Repeat("forecast line ", 280)
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{
		"content": []any{map[string]any{"type": "text", "text": text}}, "structuredContent": map[string]any{"summary": "sunny"},
	}})
	b.Run("same revision", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			For(V20251125, V20251125, "tools/call").Bytes(msg)
		}
	})
	b.Run("2025-11-25 to 2026-07-28", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			For(V20260728, V20251125, "tools/call").Bytes(msg)
		}
	})
}

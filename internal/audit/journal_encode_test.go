package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// decodeLine reads one line as the spill replay does.
func decodeLine(t *testing.T, line []byte) Event {
	t.Helper()
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode %q: %v", line, err)
	}
	return ev
}

// The journal's hand-written encoding reads back as the same event as encoding/json's, and is
// the same bytes where key order cannot differ.
func TestAppendEventWritesWhatEncodingJSONWrites(t *testing.T) {
	at := time.Date(2026, 12, 3, 13, 4, 5, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		ev   Event
		hand bool // appendEvent writes it itself (no fallback)
	}{
		{"a minimal event", Event{ID: "01ABC", Time: at, Kind: KindAuthz}, true},
		{"every field", Event{
			ID: "01ABC", Time: at, Kind: KindMCP, RequestID: "r", Subject: "s", Email: "e@x", ClientID: "c",
			VirtualServer: "v", Connector: "n", Method: "tools/call", Target: "t", Decision: "allow", Policy: "p",
			Reason: "why", PolicyRevision: "rev", DecisionID: "d", Outcome: OutcomeError, ErrorCode: -32602,
			UpstreamStatus: 502, LatencyMicros: 12, BytesIn: 3, BytesOut: 4,
		}, true},
		{"strings that need escaping", Event{ID: "x", Time: at, Kind: KindMCP,
			Target: "a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj<k>&l\u2028m\u2029n é 😀"}, true},
		{"keys-mode arguments", Event{ID: "x", Time: at, Kind: KindMCP, Arguments: map[string]any{"query": nil, "li\"mit": nil}}, true},
		{"full-mode arguments", Event{ID: "x", Time: at, Kind: KindMCP, Arguments: map[string]any{"n": json.Number("5"), "s": "v", "o": map[string]any{"a": []any{true}}}}, true},
		{"a local time zone", Event{ID: "x", Time: at.In(time.FixedZone("x", 3600)), Kind: KindMCP}, true},
		{"invalid UTF-8 falls back", Event{ID: "x", Time: at, Kind: KindMCP, PolicyRevision: "a\xffb"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // as the spill file writes
			if err := enc.Encode(&tc.ev); err != nil {
				t.Fatal(err)
			}
			want := bytes.TrimSpace(buf.Bytes())
			got, ok := appendEvent([]byte("prefix"), &tc.ev)
			if ok != tc.hand {
				t.Fatalf("appendEvent ok = %v, want %v", ok, tc.hand)
			}
			if !ok {
				if string(got) != "prefix" {
					t.Errorf("a refused event left %q in the buffer", got)
				}
				return
			}
			got = bytes.TrimPrefix(got, []byte("prefix"))
			if !bytes.HasSuffix(got, []byte("\n")) {
				t.Errorf("no newline at the end: %q", got)
			}
			if len(tc.ev.Arguments) <= 1 && !bytes.Equal(bytes.TrimSpace(got), want) {
				t.Errorf("appendEvent wrote\n%s\nencoding/json writes\n%s", got, want)
			}
			if a, b := decodeLine(t, got), decodeLine(t, want); !reflect.DeepEqual(a, b) {
				t.Errorf("reads back as %+v, want %+v", a, b)
			}
		})
	}
}

// FuzzAppendEvent: for any text, the journal line is the bytes encoding/json writes, or a
// refusal that sends the event to encoding/json.
func FuzzAppendEvent(f *testing.F) {
	f.Add("plain", "key")
	f.Add("\x00\x1f\"\\\u2028<>&", "\xff")
	f.Add("\xed\xa0\x80", "é")
	f.Fuzz(func(t *testing.T, text, key string) {
		ev := Event{ID: "x", Time: time.Unix(0, 0).UTC(), Kind: KindMCP, Target: text, Reason: text,
			Arguments: map[string]any{key: nil}}
		got, ok := appendEvent(nil, &ev)
		if !ok {
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&ev); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, buf.Bytes()) {
			t.Fatalf("appendEvent wrote %q, encoding/json %q", got, buf.Bytes())
		}
	})
}

package relay

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/sse"
	"github.com/vmcp-dev/vmcp/internal/translate"
)

const stream = "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n" +
	"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"elicitation/create\",\"params\":{\"message\":\"ok?\"}}\n\n" +
	": a comment\n\n" +
	"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"

func TestRewriterGivesRequestsReplyIDsAndEventsEventIDsWhereverChunksAreCut(t *testing.T) {
	var want string
	for _, size := range []int{len(stream), 1, 3, 17} {
		r := &Rewriter{Connector: "notes"}
		var out []byte
		for i := 0; i < len(stream); i += size {
			end := min(i+size, len(stream))
			out = append(out, r.Feed([]byte(stream[i:end]), end == len(stream))...)
		}
		got := string(out)
		if size == len(stream) {
			want = got
		} else if got != want {
			t.Fatalf("fed %d bytes at a time:\n%s\nwhole:\n%s", size, got, want)
		}
	}
	events := strings.Split(strings.TrimSuffix(want, "\n\n"), "\n\n")
	if len(events) != 4 {
		t.Fatalf("%d events, want 4:\n%s", len(events), want)
	}
	// The notification keeps its data and gets an event id naming the connector.
	if c, id, ok := ParseEventID(strings.TrimPrefix(strings.Split(events[0], "\n")[1], "id: ")); !ok || c != "notes" || id != "7" {
		t.Errorf("event id of %q = %s %s %v", events[0], c, id, ok)
	}
	if !strings.HasSuffix(events[0], `"params":{"progress":1}}`) {
		t.Errorf("notification changed: %q", events[0])
	}
	// The request's id leads back to the connector and its own id.
	m, err := jsonrpc.Parse(sse.Data([]byte(events[1])))
	if err != nil {
		t.Fatal(err)
	}
	if c, id, ok := ParseReplyID(m.ID); !ok || c != "notes" || string(id) != "42" || m.Method != "elicitation/create" {
		t.Errorf("request %q: reply id leads to %s %s %v", events[1], c, id, ok)
	}
	// Comments and the answer pass byte for byte.
	if events[2] != ": a comment" || events[3] != `data: {"jsonrpc":"2.0","id":1,"result":{}}` {
		t.Errorf("unchanged events changed: %q %q", events[2], events[3])
	}
}

func TestIDsVMCPDidNotMintAreNotRelayIDs(t *testing.T) {
	for _, id := range []string{`1`, `"x"`, `"vmcp.r.!!"`, `"vmcp.e.bm90ZXMAMQ"`, `"vmcp.r."`} {
		if c, _, ok := ParseReplyID(json.RawMessage(id)); ok {
			t.Errorf("reply id %s parsed, connector %q", id, c)
		}
	}
	if _, _, ok := ParseEventID(string(ReplyID("notes", json.RawMessage("1")))); ok {
		t.Error("a reply id must not pass for an event id")
	}
}

func FuzzRewriter(f *testing.F) {
	f.Add([]byte(stream), 5)
	f.Add([]byte("data: [\r\n\r\nid:\n\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, size int) {
		if size <= 0 {
			size = 1
		}
		r := &Rewriter{Connector: "c"}
		var n int
		for i := 0; i < len(in); i += size {
			end := min(i+size, len(in))
			n += len(r.Feed(in[i:end], end == len(in)))
		}
		if len(in) > 0 && n == 0 && len(strings.TrimSpace(string(in))) > 0 {
			t.Fatalf("everything was swallowed: %q", in)
		}
	})
}

// TestAStreamForA2026ClientIsTranslatedEventByEvent: a 2025-11-25 connector's SSE answer to a
// 2026-07-28 client keeps its progress, loses the priming event, the event ids and the request
// the client could not answer, and its answer gets resultType and the client's own id back —
// wherever the chunks are cut.
func TestAStreamForA2026ClientIsTranslatedEventByEvent(t *testing.T) {
	in := "event: prime\nid: 6\ndata: \n\n" +
		"event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"roots/list\"}\n\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"vmcp.k.1\",\"result\":{\"content\":[]}}\n\n"
	for _, size := range []int{len(in), 1, 5} {
		r := &Rewriter{Connector: "notes", AnswerID: json.RawMessage(`"vmcp.k.1"`), ClientID: json.RawMessage(`3`),
			Translate: translate.For("2026-07-28", "2025-11-25", "tools/call")}
		var out []byte
		for i := 0; i < len(in); i += size {
			end := min(i+size, len(in))
			out = append(out, r.Feed([]byte(in[i:end]), end == len(in))...)
		}
		events := strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n")
		if len(events) != 2 {
			t.Fatalf("fed %d at a time: %d events, want 2 (the request dropped):\n%s", size, len(events), out)
		}
		if !strings.Contains(events[0], "notifications/progress") || strings.Contains(string(out), "id:") {
			t.Errorf("progress lost, or an event id (or priming event) kept: %q", out)
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result map[string]any  `json:"result"`
		}
		if err := json.Unmarshal(sse.Data([]byte(events[1])), &m); err != nil || string(m.ID) != "3" || m.Result["resultType"] != "complete" {
			t.Errorf("answer %q: id %s, result %v", events[1], m.ID, m.Result)
		}
	}
}

func TestAJSONAnswerIsTranslatedEvenWithoutAnIDToGiveBack(t *testing.T) {
	r := &Rewriter{Connector: "notes", Translate: translate.For("2026-07-28", "2025-11-25", "resources/read")}
	out := r.Answer([]byte(`{"jsonrpc":"2.0","id":1,"result":{"contents":[]}}`))
	var m struct {
		Result map[string]any `json:"result"`
	}
	if json.Unmarshal(out, &m) != nil || m.Result["resultType"] != "complete" || m.Result["cacheScope"] != "private" || m.Result["ttlMs"] != 0.0 {
		t.Errorf("got %s", out)
	}
	same := []byte(`{"jsonrpc":"2.0","id":1,"result":{}}`)
	if got := (&Rewriter{Connector: "notes"}).Answer(same); &got[0] != &same[0] {
		t.Error("an answer with nothing to change must pass as it is")
	}
}

// BenchmarkRewriterAnswer measures extproc's work on a routed JSON answer of about 4 KB: given
// back the client's id only (a connector session vmcp keeps, same revision), and translated for
// a 2026-07-28 client too.
func BenchmarkRewriterAnswer(b *testing.B) {
	text := strings.Repeat("forecast line ", 280)
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "vmcp.k.1", "result": map[string]any{
		"content": []any{map[string]any{"type": "text", "text": text}}}})
	for _, tc := range []struct {
		name string
		tr   *translate.Translator
	}{
		{"id only", nil},
		{"id and 2025-11-25 to 2026-07-28", translate.For("2026-07-28", "2025-11-25", "tools/call")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := &Rewriter{Connector: "notes", AnswerID: json.RawMessage(`"vmcp.k.1"`), ClientID: json.RawMessage(`1`), Translate: tc.tr}
				r.Answer(body)
			}
		})
	}
}

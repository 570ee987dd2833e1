package extproc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

func TestAConnectorsRequestInAnSSEAnswerGetsAReplyIDThatLeadsBack(t *testing.T) {
	stream := "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"elicitation/create\",\"params\":{\"message\":\"ok?\"}}\n\n" +
		"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
	// Fed in pieces that cut events (and a data line) anywhere: the output must not depend on it.
	for _, size := range []int{1, 3, 17, len(stream)} {
		r := &sseRewriter{connector: "notes"}
		var out []byte
		for i := 0; i < len(stream); i += size {
			end := min(i+size, len(stream))
			out = append(out, r.feed([]byte(stream[i:end]), end == len(stream))...)
		}
		got := string(out)
		if !strings.HasPrefix(got, "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"") {
			t.Fatalf("size %d: a notification must pass unchanged:\n%s", size, got)
		}
		if strings.Contains(got, `"id":42`) || !strings.HasSuffix(got, "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n") {
			t.Fatalf("size %d: the request keeps its id or the answer changed:\n%s", size, got)
		}
		// The client answers the rewritten id; vmcp finds the connector and its own id.
		var ev []byte
		for _, e := range strings.Split(got, "\n\n") {
			if strings.Contains(e, "elicitation/create") {
				ev = []byte(e)
			}
		}
		m, err := jsonrpc.Parse(sseData(ev))
		if err != nil {
			t.Fatal(err)
		}
		e := &edgeExchange{vs: &virtualServer{connectors: map[string]*connector{"notes": {name: "notes"}}}}
		c, id, ok := e.replyTarget(&jsonrpc.Message{JSONRPC: "2.0", ID: m.ID, Result: json.RawMessage(`{"action":"accept"}`)})
		if !ok || c.name != "notes" || string(id) != "42" {
			t.Fatalf("size %d: reply target = %v %s %v, want notes and 42", size, c, id, ok)
		}
	}
}

func TestRepliesWithIDsVMCPDidNotMintGoToTheAggregator(t *testing.T) {
	e := &edgeExchange{vs: &virtualServer{connectors: map[string]*connector{"notes": {name: "notes"}}}}
	for _, id := range []string{`1`, `"x"`, `"vmcp.r.!!"`, `"` + string(bytes.Trim(replyID("mail", json.RawMessage("1")), `"`)) + `"`} {
		if c, _, ok := e.replyTarget(&jsonrpc.Message{ID: json.RawMessage(id), Result: json.RawMessage(`{}`)}); ok {
			t.Errorf("id %s routed to %s", id, c.name)
		}
	}
}

func TestOriginsFromThePublicURLAndLoopbackInDevelopment(t *testing.T) {
	pub := newOrigins("https://mcp.example.com", []string{"https://console.example.com"})
	dev := newOrigins("http://127.0.0.1:8080", nil)
	for _, tc := range []struct {
		o      origins
		origin string
		want   bool
	}{
		{pub, "", true},
		{pub, "https://mcp.example.com", true},
		{pub, "HTTPS://MCP.EXAMPLE.COM/", true},
		{pub, "https://console.example.com", true},
		{pub, "http://mcp.example.com", false},
		{pub, "https://evil.example.com", false},
		{pub, "http://127.0.0.1:8080", false},
		{dev, "http://localhost:3000", true},
		{dev, "http://127.0.0.1:9999", true},
		{dev, "http://evil.example.com", false},
		{dev, "null", false},
	} {
		if got := tc.o.allow(tc.origin); got != tc.want {
			t.Errorf("allow(%q) = %v, want %v", tc.origin, got, tc.want)
		}
	}
}

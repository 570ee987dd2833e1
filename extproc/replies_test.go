package extproc

import (
	"encoding/json"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/relay"
)

func TestARelayedRequestsReplyIsRoutedToItsConnector(t *testing.T) {
	e := &edgeExchange{vs: &virtualServer{connectors: map[string]*connector{"notes": {name: "notes"}}}}
	c, id, ok := e.replyTarget(&jsonrpc.Message{JSONRPC: "2.0", ID: relay.ReplyID("notes", json.RawMessage("42")), Result: json.RawMessage(`{"action":"accept"}`)})
	if !ok || c.name != "notes" || string(id) != "42" {
		t.Fatalf("reply target = %v %s %v, want notes and 42", c, id, ok)
	}
}

func TestRepliesWithIDsVMCPDidNotMintGoToTheAggregator(t *testing.T) {
	e := &edgeExchange{vs: &virtualServer{connectors: map[string]*connector{"notes": {name: "notes"}}}}
	for _, id := range []string{`1`, `"x"`, `"vmcp.r.!!"`, string(relay.ReplyID("mail", json.RawMessage("1")))} {
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

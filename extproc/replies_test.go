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

package extproc

import (
	"encoding/json"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/relay"
)

// replyTarget reads a client's answer to a request a connector sent it: the connector (of this
// virtual server) and its own id. An answer whose id vmcp did not mint is not for a connector.
func (e *edgeExchange) replyTarget(msg *jsonrpc.Message) (*connector, json.RawMessage, bool) {
	if msg.Method != "" || len(msg.ID) == 0 || (msg.Result == nil && msg.Error == nil) {
		return nil, nil, false
	}
	name, orig, ok := relay.ParseReplyID(msg.ID)
	c := e.vs.connectors[name]
	if !ok || c == nil {
		return nil, nil, false
	}
	return c, orig, true
}

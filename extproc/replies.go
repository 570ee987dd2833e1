package extproc

import (
	"crypto/rand"
	"encoding/base64"
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

// maxHeldAnswer bounds a JSON answer held back to give it the client's id again.
const maxHeldAnswer = 16 << 20

// keptRequestID is a fresh id for a request sent in a connector session vmcp keeps: unique
// across clients and replicas without coordination.
func keptRequestID() json.RawMessage {
	var b [12]byte
	rand.Read(b[:])
	return json.RawMessage(`"vmcp.k.` + base64.RawURLEncoding.EncodeToString(b[:]) + `"`)
}

// clientFacingID is the id the client knows its routed request by.
func (e *edgeExchange) clientFacingID() string {
	if e.clientID != nil {
		return string(e.clientID)
	}
	return e.rpcID
}

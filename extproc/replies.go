package extproc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// replyIDPrefix marks the id of a request a connector sent the client through vmcp. The rest is
// base64url of the connector's name, a NUL, and the connector's own id (raw JSON), so that the
// client's answer finds its way back on any replica, with nothing to remember.
const replyIDPrefix = "vmcp.r."

// replyID is the id a client sees for connector's request id.
func replyID(connector string, id json.RawMessage) json.RawMessage {
	b, _ := json.Marshal(replyIDPrefix + base64.RawURLEncoding.EncodeToString(append([]byte(connector+"\x00"), id...)))
	return b
}

// replyTarget reads a client's answer to a connector's request: the connector (of this virtual
// server) and its own id. An answer whose id vmcp did not mint is not for a connector.
func (e *edgeExchange) replyTarget(msg *jsonrpc.Message) (*connector, json.RawMessage, bool) {
	if msg.Method != "" || len(msg.ID) == 0 || (msg.Result == nil && msg.Error == nil) {
		return nil, nil, false
	}
	var id string
	if json.Unmarshal(msg.ID, &id) != nil || !strings.HasPrefix(id, replyIDPrefix) {
		return nil, nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(id[len(replyIDPrefix):])
	if err != nil {
		return nil, nil, false
	}
	name, orig, ok := bytes.Cut(raw, []byte{0})
	c := e.vs.connectors[string(name)]
	if !ok || c == nil || !json.Valid(orig) {
		return nil, nil, false
	}
	return c, orig, true
}

// maxPendingEvent bounds the part of an SSE event held back while waiting for its end; an
// event longer than that is passed on unrewritten.
const maxPendingEvent = 4 << 20

// sseRewriter rewrites a connector's SSE answer as it streams by: each request the connector
// sends the client (elicitation, sampling, roots) gets a reply id naming the connector. Bytes of
// an event not yet complete are held back until its end arrives.
type sseRewriter struct {
	connector string
	pending   []byte
}

// feed takes the next chunk of the body and returns the bytes to send on in its place.
func (r *sseRewriter) feed(chunk []byte, end bool) []byte {
	data := append(r.pending, chunk...)
	r.pending = nil
	var out []byte
	for {
		n, sepLen := eventEnd(data)
		if n < 0 {
			break
		}
		out = append(out, r.event(data[:n])...)
		out = append(out, data[n:n+sepLen]...)
		data = data[n+sepLen:]
	}
	if end || len(data) > maxPendingEvent {
		return append(out, data...)
	}
	r.pending = append([]byte(nil), data...)
	return out
}

// event rewrites one event (without its closing blank line) when it carries a request.
func (r *sseRewriter) event(ev []byte) []byte {
	m, err := jsonrpc.Parse(sseData(ev))
	if err != nil || !m.IsRequest() {
		return ev
	}
	m.ID = replyID(r.connector, m.ID)
	b, err := json.Marshal(m)
	if err != nil {
		return ev
	}
	var out []byte
	for _, line := range bytes.Split(ev, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSuffix(line, []byte("\r")), []byte("data:")) {
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	out = append(out, "data: "...)
	return append(out, b...)
}

// Package relay names the messages vmcp passes between a client and a connector on the
// connector's behalf: requests a connector sends the client (elicitation, sampling, roots) and
// the SSE event ids a client resumes a stream from. Each gets an id that names the connector,
// so the client's answer or resumption reaches that connector on any replica, with nothing
// stored. Ids are not secret and need not be: a client can only ever address the connectors of
// its own virtual server, in its own connector sessions.
package relay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/sse"
	"github.com/vmcp-dev/vmcp/internal/translate"
)

// Prefixes of the ids vmcp mints.
const (
	replyPrefix = "vmcp.r."
	eventPrefix = "vmcp.e."
)

func encode(prefix, connector string, id []byte) string {
	return prefix + base64.RawURLEncoding.EncodeToString(append([]byte(connector+"\x00"), id...))
}

func decode(prefix, s string) (connector string, id []byte, ok bool) {
	if !strings.HasPrefix(s, prefix) {
		return "", nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	if err != nil {
		return "", nil, false
	}
	name, id, ok := bytes.Cut(raw, []byte{0})
	return string(name), id, ok && len(name) > 0
}

// ReplyID is the id the client sees for a request connector sent with id (raw JSON).
func ReplyID(connector string, id json.RawMessage) json.RawMessage {
	b, _ := json.Marshal(encode(replyPrefix, connector, id))
	return b
}

// ParseReplyID reads an id minted by ReplyID: the connector and its own id (raw JSON).
func ParseReplyID(id json.RawMessage) (connector string, orig json.RawMessage, ok bool) {
	var s string
	if json.Unmarshal(id, &s) != nil {
		return "", nil, false
	}
	c, raw, ok := decode(replyPrefix, s)
	if !ok || !json.Valid(raw) {
		return "", nil, false
	}
	return c, raw, true
}

// EventID is the SSE event id the client sees for connector's event id.
func EventID(connector, id string) string { return encode(eventPrefix, connector, []byte(id)) }

// ParseEventID reads an id minted by EventID (a client's Last-Event-ID).
func ParseEventID(s string) (connector, id string, ok bool) {
	c, raw, ok := decode(eventPrefix, s)
	return c, string(raw), ok
}

// maxPending bounds the part of an SSE event held back while waiting for its end; an event
// longer than that is passed on as it is.
const maxPending = 4 << 20

// Rewriter rewrites a connector's SSE stream as it passes: each request the connector sends the
// client gets a ReplyID, each event id an EventID, and each message is translated into the
// client's revision. Bytes of an event not yet complete are held back until its end arrives.
type Rewriter struct {
	Connector string
	// AnswerID and ClientID, when set, give the answer to the routed request back the id the
	// client sent: vmcp sent the connector AnswerID instead (a connector session shared by
	// several clients of one user must never see two requests with one id).
	AnswerID, ClientID json.RawMessage
	// Translate, when set, turns each message from the connector's revision into the client's.
	Translate *translate.Translator
	// Rename, when set, makes error answers name the tool as the client called it.
	Rename  Rename
	pending []byte
}

// Answer gives a connector's JSON answer (a whole body) back the client's id, when it is the
// answer to AnswerID, and translates it into the client's revision; anything else comes back
// unchanged.
func (r *Rewriter) Answer(body []byte) []byte {
	m, err := jsonrpc.Parse(body)
	if err != nil {
		return body
	}
	_, changed := r.Translate.Message(m)
	if m.Method == "" && r.AnswerID != nil && bytes.Equal(m.ID, r.AnswerID) {
		m.ID, changed = r.ClientID, true
	}
	if r.Rename.renameInError(m) {
		changed = true
	}
	if !changed {
		return body
	}
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

// Feed takes the next chunk of the stream and returns the bytes to send on in its place; end
// says it is the last chunk.
func (r *Rewriter) Feed(chunk []byte, end bool) []byte {
	data := append(r.pending, chunk...)
	r.pending = nil
	var out []byte
	for {
		n, sepLen := sse.EventEnd(data)
		if n < 0 {
			break
		}
		if ev := r.Event(data[:n]); ev != nil {
			out = append(out, ev...)
			out = append(out, data[n:n+sepLen]...)
		}
		data = data[n+sepLen:]
	}
	if end || len(data) > maxPending {
		return append(out, data...)
	}
	r.pending = append([]byte(nil), data...)
	return out
}

// Event rewrites one event, given without the blank line that ends it; nil when the client
// must not get it (a message its revision has no place for).
func (r *Rewriter) Event(ev []byte) []byte {
	var id json.RawMessage // the event's new data, when it changes
	data := sse.Data(ev)
	eventIDs := r.Translate.EventIDs()
	if !eventIDs && len(bytes.TrimSpace(data)) == 0 && bytes.Contains(ev, []byte("id:")) {
		// A priming event (an id and no data, 2025-11-25) for a client whose revision has no
		// stream resumption: nothing for it.
		return nil
	}
	if m, err := jsonrpc.Parse(data); err == nil {
		keep, changed := r.Translate.Message(m)
		if !keep {
			return nil
		}
		switch {
		case m.IsRequest():
			m.ID, changed = ReplyID(r.Connector, m.ID), true
		case m.Method == "" && r.AnswerID != nil && bytes.Equal(m.ID, r.AnswerID):
			m.ID, changed = r.ClientID, true
			r.Rename.renameInError(m)
		default:
			changed = r.Rename.renameInError(m) || changed
		}
		if changed {
			if b, err := json.Marshal(m); err == nil {
				id = b
			}
		}
	}
	hasEventID := false
	var out []byte
	for _, line := range bytes.Split(ev, []byte("\n")) {
		bare := bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case id != nil && bytes.HasPrefix(bare, []byte("data:")):
			continue // replaced below
		case bytes.HasPrefix(bare, []byte("id:")):
			hasEventID = true
			if !eventIDs {
				continue // 2026-07-28 removed SSE event ids with resumption
			}
			v := bytes.TrimPrefix(bytes.TrimPrefix(bare, []byte("id:")), []byte(" "))
			line = []byte("id: " + EventID(r.Connector, string(v)))
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	if id != nil {
		out = append(out, "data: "...)
		out = append(out, id...)
		out = append(out, '\n')
	}
	if !hasEventID && id == nil {
		return ev // nothing changed: pass the event on byte for byte
	}
	return bytes.TrimSuffix(out, []byte("\n"))
}

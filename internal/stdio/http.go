package stdio

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// maxBody bounds one request body.
const maxBody = 16 << 20

// keepAlive is how often an idle GET stream gets an SSE comment, so that proxies between client
// and bridge (Envoy's idle timeouts) do not close it.
const keepAlive = 15 * time.Second

// ServeHTTP is the Streamable HTTP endpoint: POST carries one JSON-RPC message, GET opens a
// stream for server-initiated messages, DELETE ends a session.
func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !b.authorized(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !b.originAllowed(r) {
		// MCP 2025-11-25 transports: servers must validate Origin (DNS rebinding) and answer
		// 403 to an invalid one.
		http.Error(w, "forbidden origin", http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodPost:
		b.post(w, r)
	case http.MethodGet:
		b.get(w, r)
	case http.MethodDelete:
		if id := r.Header.Get(headers.SessionID); id == "" || !b.sessions.remove(id) {
			http.Error(w, "unknown session", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (b *Bridge) authorized(r *http.Request) bool {
	if b.opts.Token == "" {
		return true
	}
	tok, ok := headers.BearerToken(r.Header.Get("Authorization"))
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(b.opts.Token)) == 1
}

// originAllowed accepts requests without Origin (non-browser clients, Envoy) and browser
// requests from a loopback page. A bridge guarded by a Token is reachable only with it, which a
// rebinding page does not have, so it does not need the check.
func (b *Bridge) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || b.opts.Token != "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}

// sessionOf finds the request's session. A request without Mcp-Session-Id is served without one
// (stateless clients, and MCP 2026-07-28, have none; the process is shared either way); one
// with an unknown id gets 404 so that its client initializes again.
func (b *Bridge) sessionOf(w http.ResponseWriter, r *http.Request) (s *session, ok bool) {
	id := r.Header.Get(headers.SessionID)
	if id == "" {
		return nil, true
	}
	if s = b.sessions.get(id); s == nil {
		http.Error(w, "unknown or expired session", http.StatusNotFound)
		return nil, false
	}
	s.touch(time.Now())
	return s, true
}

func (b *Bridge) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, jsonrpc.ErrorResponse(nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "request body too large or unreadable")))
		return
	}
	m, err := jsonrpc.Parse(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, jsonrpc.ErrorResponse(nil, err.(*jsonrpc.Error)))
		return
	}
	if m.Method == "initialize" {
		b.initialize(w, r, m)
		return
	}
	s, ok := b.sessionOf(w, r)
	if !ok {
		return
	}
	switch {
	case m.Method == "":
		if !b.clientReply(m) {
			writeJSON(w, http.StatusBadRequest, jsonrpc.ErrorResponse(nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "no request of the server has id %s", m.ID)))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case m.IsNotification():
		b.notify(r, s, m)
		w.WriteHeader(http.StatusAccepted)
	default:
		b.forward(w, r, s, m)
	}
}

// initialize answers from the process's InitializeResult with a new session.
func (b *Bridge) initialize(w http.ResponseWriter, r *http.Request, m *jsonrpc.Message) {
	if !m.IsRequest() {
		writeJSON(w, http.StatusBadRequest, jsonrpc.ErrorResponse(nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "initialize must be a request")))
		return
	}
	_, init, err := b.up(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, jsonrpc.ErrorResponse(m.ID, jsonrpc.Errorf(CodeUnavailable, "%v", err)))
		return
	}
	s := b.sessions.mint(time.Now())
	w.Header().Set("Mcp-Session-Id", s.id)
	writeJSON(w, http.StatusOK, encode(&jsonrpc.Message{JSONRPC: "2.0", ID: m.ID, Result: init}))
}

// notify passes a client notification on. notifications/initialized is the bridge's to send, once
// per process; a cancellation names the request by the process's id for it.
func (b *Bridge) notify(r *http.Request, s *session, m *jsonrpc.Message) {
	if m.Method == "notifications/initialized" {
		return
	}
	c, _, err := b.up(r.Context())
	if err != nil {
		return // a notification has no answer to carry the error
	}
	if m.Method == "notifications/cancelled" {
		cl := c.byClientID(s, field(m.Params, "requestId"))
		if cl == nil {
			return
		}
		m.Params = withField(m.Params, "requestId", idJSON(cl.id))
	}
	_ = c.send(r.Context(), encode(m))
}

// forward sends a client request to the process and relays what comes back for it.
func (b *Bridge) forward(w http.ResponseWriter, r *http.Request, s *session, m *jsonrpc.Message) {
	ctx := r.Context()
	c, _, err := b.up(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, jsonrpc.ErrorResponse(m.ID, jsonrpc.Errorf(CodeUnavailable, "%v", err)))
		return
	}
	cl := newCall(b.nextID.Add(1), s, m.ID)
	cl.method = m.Method
	params := m.Params
	if tok := requestProgressToken(params); tok != nil {
		cl.clientToken = tok
		params = withRequestProgressToken(params, idJSON(cl.id))
	}
	c.register(cl)
	defer c.unregister(cl)
	out := responder{w: w, sse: acceptsSSE(r)}
	if err := c.send(ctx, encode(&jsonrpc.Message{JSONRPC: "2.0", ID: idJSON(cl.id), Method: m.Method, Params: params})); err != nil {
		out.final(jsonrpc.ErrorResponse(m.ID, jsonrpc.Errorf(CodeUnavailable, "%s could not take the request: %v", b.name, err)))
		return
	}
	timeout := b.opts.RequestTimeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	cancelled := func() []byte {
		return encode(&jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/cancelled",
			Params: json.RawMessage(fmt.Sprintf(`{"requestId":%d,"reason":"the client went away or vmcp timed out"}`, cl.id))})
	}
	for {
		select {
		case note := <-cl.notes:
			out.note(note)
			timer.Reset(timeout)
		case ans := <-cl.answer:
			// The reader queued everything for this request before its answer: pass that on
			// first, in order.
			for drained := false; !drained; {
				select {
				case note := <-cl.notes:
					out.note(note)
				default:
					drained = true
				}
			}
			ans.ID = m.ID
			out.final(encode(ans))
			return
		case <-c.proc.exited:
			select {
			case ans := <-cl.answer:
				ans.ID = m.ID
				out.final(encode(ans))
			default:
				out.final(jsonrpc.ErrorResponse(m.ID, jsonrpc.Errorf(CodeUnavailable, "%s exited while handling %s (%s); it is being restarted", b.name, m.Method, exitReason(c.proc.err))))
			}
			return
		case <-timer.C:
			c.trySend(cancelled())
			go b.probe(c)
			out.final(jsonrpc.ErrorResponse(m.ID, jsonrpc.Errorf(CodeTimeout, "%s did not answer within %s", b.name, timeout)))
			return
		case <-ctx.Done():
			c.trySend(cancelled())
			return
		}
	}
}

// get serves a session's stream of server-initiated messages.
func (b *Bridge) get(w http.ResponseWriter, r *http.Request) {
	if !acceptsSSE(r) {
		http.Error(w, "GET needs Accept: text/event-stream", http.StatusNotAcceptable)
		return
	}
	if r.Header.Get(headers.SessionID) == "" {
		http.Error(w, "missing Mcp-Session-Id", http.StatusBadRequest)
		return
	}
	s, ok := b.sessionOf(w, r)
	if !ok {
		return
	}
	stream := s.openStream()
	defer s.closeStream(stream)
	out := responder{w: w, sse: true}
	out.start()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case msg := <-stream:
			out.note(msg)
		case <-tick.C:
			io.WriteString(w, ": keep-alive\n\n")
			out.flush()
		case <-b.sessions.closed:
			return
		case <-r.Context().Done():
			return
		}
		if b.sessions.get(s.id) == nil {
			return // deleted
		}
	}
}

func acceptsSSE(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/event-stream") || strings.Contains(a, "*/*")
}

// responder writes one POST's answer: plain JSON, unless something for the request arrives
// before the answer and the client accepts SSE, which turns the response into a stream.
type responder struct {
	w       http.ResponseWriter
	sse     bool
	started bool
}

func (o *responder) start() {
	if o.started {
		return
	}
	o.started = true
	h := o.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	o.w.WriteHeader(http.StatusOK)
	o.flush()
}

// note sends a message ahead of the answer; a client that accepts only JSON does not get it.
func (o *responder) note(msg []byte) {
	if !o.sse {
		return
	}
	o.start()
	o.event(msg)
}

func (o *responder) final(msg []byte) {
	if o.started {
		o.event(msg)
		return
	}
	writeJSON(o.w, http.StatusOK, msg)
}

func (o *responder) event(msg []byte) {
	io.WriteString(o.w, "event: message\ndata: ")
	o.w.Write(msg)
	io.WriteString(o.w, "\n\n")
	o.flush()
}

func (o *responder) flush() {
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/revision"
	"github.com/vmcp-dev/vmcp/internal/routing"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// Server is the aggregator's HTTP handler for every virtual server path.
type Server struct {
	state    atomic.Pointer[catalog]
	up       *upstreamClient
	signer   *identity.Signer
	sessions *session.Codec
	log      *zap.Logger
	version  string
	kept     keptSessions
	audit    audit.Sink
	hub      hub
	// done ends open notification streams when vmcp shuts down.
	done      chan struct{}
	closeOnce sync.Once
	// remaps are the new connector sessions of client sessions whose connector forgot theirs.
	remaps remaps
}

// Close ends the notification streams the aggregator holds open, so that the HTTP server's
// graceful shutdown does not wait for clients that never hang up.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// NewServer returns an aggregator that reaches connectors through Envoy's egress listener at
// egressAddr, trusts identities signed by signer and mints sessions with sessions.
// Every request it answers becomes an audit event on sink (nil: none).
func NewServer(egressAddr string, signer *identity.Signer, sessions *session.Codec, version string, sink audit.Sink, log *zap.Logger) *Server {
	if sink == nil {
		sink = audit.Discard{}
	}
	return &Server{up: newUpstreamClient(egressAddr), signer: signer, sessions: sessions, log: log, version: version, audit: sink, done: make(chan struct{})}
}

// Prepare compiles cfg, routing included; the returned commit swaps it in.
func (s *Server) Prepare(cfg *config.Config) (func(), error) {
	routes, err := routing.Compile(cfg)
	if err != nil {
		return nil, err
	}
	return s.PrepareRoutes(cfg, routes)
}

// PrepareRoutes compiles cfg with routes, its routing Table, which extproc shares; the returned
// commit swaps it in.
func (s *Server) PrepareRoutes(cfg *config.Config, routes *routing.Table) (func(), error) {
	catalog, err := compile(cfg, routes)
	if err != nil {
		return nil, err
	}
	return func() {
		if old := s.state.Swap(catalog); old != nil {
			// A reload can change any list a client sees (connectors, renames, policy).
			for kind := range listChanged {
				s.hub.publish("", kind)
			}
		}
	}, nil
}

// request is one client request with everything decided about it so far.
type request struct {
	vs       *virtualServer
	catalog  *catalog
	caller   identity.Identity
	signed   string
	session  *session.State
	rawID    string
	protocol string
	// modern is set for requests in revision 2026-07-28 or later (no session, _meta).
	modern bool
	// method and errCode are what the audit record says about the request.
	method  string
	errCode int
	// target and arguments name the tool a tools/call answered here (search_tools) was for.
	target    string
	arguments map[string]any
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	catalog := s.state.Load()
	if catalog == nil {
		writeError(w, http.StatusServiceUnavailable, nil, jsonrpc.Errorf(jsonrpc.CodeInternalError, "vmcp is not configured yet"))
		return
	}
	vs := catalog.byPath[r.URL.Path]
	if vs == nil {
		http.NotFound(w, r)
		return
	}
	// Only requests that passed ext_authz carry a valid signed identity; anything reaching this
	// port around Envoy is refused.
	signed := r.Header.Get(headers.Identity)
	caller, err := s.signer.Verify(signed)
	if err != nil || caller.VirtualServer != vs.name {
		writeError(w, http.StatusUnauthorized, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "unauthenticated: the request did not come through vmcp's edge"))
		return
	}
	req := &request{vs: vs, catalog: catalog, caller: caller, signed: signed, rawID: r.Header.Get(headers.SessionID), protocol: r.Header.Get(headers.ProtocolVersion)}
	// Every request that passed authz is one audit event, refusals included. A GET stream or a
	// DELETE carries no JSON-RPC method: its HTTP method stands for it.
	started := time.Now()
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	defer s.record(r, req, cw, started)
	switch r.Method {
	case http.MethodPost:
		s.post(cw, r, req)
	case http.MethodDelete:
		req.method = http.MethodDelete
		s.delete(cw, r, req)
	case http.MethodGet:
		req.method = http.MethodGet
		if revision.Modern(req.protocol) {
			// 2026-07-28 has no GET stream; subscriptions/listen replaces it.
			cw.Header().Set("Allow", "POST")
			writeError(cw, http.StatusMethodNotAllowed, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "method not allowed: MCP %s has no GET stream (use subscriptions/listen)", req.protocol))
			return
		}
		s.getStream(cw, r, req)
	default:
		req.method = r.Method
		// MCP transports: a server that offers no standalone SSE stream answers GET with 405.
		cw.Header().Set("Allow", "GET, POST, DELETE")
		writeError(cw, http.StatusMethodNotAllowed, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "method not allowed: %s (use GET, POST or DELETE)", jsonrpc.Excerpt(r.Method)))
	}
}

func (s *Server) post(w http.ResponseWriter, r *http.Request, req *request) {
	maxRequestBody := req.catalog.maxBody
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(maxRequestBody)+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, nil, jsonrpc.Errorf(jsonrpc.CodeParseError, "cannot read body"))
		return
	}
	if len(body) > maxRequestBody {
		writeError(w, http.StatusRequestEntityTooLarge, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "request body over %d bytes", maxRequestBody))
		return
	}
	msg, err := jsonrpc.Parse(body)
	if err != nil {
		var rpcErr *jsonrpc.Error
		errors.As(err, &rpcErr)
		req.errCode = rpcErr.Code
		writeError(w, http.StatusBadRequest, nil, rpcErr)
		return
	}
	req.method = msg.Method
	if !msg.IsRequest() {
		// Notifications and answers to server requests: accepted, nothing to say (MCP: 202).
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if v := revision.FromMeta(msg.Params); v != "" {
		req.protocol = v
	}
	if revision.Modern(req.protocol) {
		if !slices.Contains(discoverVersions, req.protocol) {
			req.errCode = codeUnsupportedProtocolVersion
			unsupportedVersion(w, msg.ID, req.protocol)
			return
		}
		// 2026-07-28 has no sessions: a session id sent anyway is ignored, and the connector
		// sessions vmcp keeps for sessionless callers serve the request.
		req.modern, req.rawID = true, ""
	}
	switch msg.Method {
	case "initialize":
		s.initialize(w, r, req, msg)
		return
	case "server/discover":
		s.discover(w, r, req, msg)
		return
	}
	if req.rawID != "" {
		sess, err := s.sessions.Open(req.rawID, req.caller.Subject, req.vs.name)
		if err != nil {
			// MCP transports: an unknown or expired session is 404 so the client starts over.
			req.errCode = jsonrpc.CodeInvalidRequest
			writeError(w, http.StatusNotFound, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "session not found: %v", err))
			return
		}
		req.session = &sess
		if req.protocol == "" {
			req.protocol = sess.ProtocolVersion
		}
	}
	if msg.Method == "subscriptions/listen" && req.modern {
		s.listen(w, r, req, msg)
		return
	}
	var result map[string]any
	var rpcErr *jsonrpc.Error
	cursor, cursorErr := cursorParam(msg.Params)
	switch {
	case cursorErr != nil:
		rpcErr = cursorErr
	case msg.Method == "ping":
		result = map[string]any{}
	case msg.Method == "tools/list":
		result, rpcErr = s.toolsList(r.Context(), req, cursor)
	case msg.Method == "tools/call":
		result, rpcErr = s.callTool(r.Context(), req, msg)
	case msg.Method == "prompts/list":
		result, rpcErr = s.listPrompts(r.Context(), req, cursor)
	case msg.Method == "resources/list":
		result, rpcErr = s.listResources(r.Context(), req, "resources/list", "resources", cursor)
	case msg.Method == "resources/templates/list":
		result, rpcErr = s.listResources(r.Context(), req, "resources/templates/list", "resourceTemplates", cursor)
	case msg.Method == "logging/setLevel":
		result = s.setLevel(r.Context(), req, msg.Params)
	case msg.Method == "completion/complete":
		// A completion vmcp could not route to one connector (an unknown prompt or resource
		// template): nothing to suggest.
		result = map[string]any{"completion": map[string]any{"values": []string{}, "hasMore": false}}
	default:
		rpcErr = jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "method %q is not supported by this virtual server", jsonrpc.Excerpt(msg.Method))
	}
	if rpcErr != nil {
		req.errCode = rpcErr.Code
		writeError(w, http.StatusOK, msg.ID, rpcErr)
		return
	}
	if req.modern && strings.HasSuffix(msg.Method, "/list") {
		cacheHints(result)
	} else if req.modern {
		// MCP 2026-07-28 "Result": every result carries resultType (search_tools' answer, a
		// completion vmcp answers itself, ...).
		result["resultType"] = "complete"
	}
	writeResult(w, msg.ID, result, "")
}

// countingWriter notes the status and size of an answer for the audit record.
type countingWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (c *countingWriter) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer, to flush a streamed answer
// (subscriptions/listen) through this one.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Flush passes on to the underlying writer: GET streams and SSE answers flush each event.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// record writes the audit event of one request the aggregator answered.
func (s *Server) record(r *http.Request, req *request, cw *countingWriter, started time.Time) {
	if req.method == "" && req.errCode == 0 {
		return // an answer to a server request, or nothing parseable worth a record
	}
	outcome, reason := audit.OutcomeOK, ""
	if req.errCode != 0 || cw.status >= 400 {
		outcome = audit.OutcomeError
	}
	if cw.status == http.StatusNotFound && req.rawID != "" {
		reason = "session not found"
	}
	ev := audit.Event{
		Kind:          audit.KindMCP,
		RequestID:     r.Header.Get("X-Request-Id"),
		Subject:       req.caller.Subject,
		Email:         req.caller.Email,
		ClientID:      req.caller.ClientID,
		VirtualServer: req.vs.name,
		Method:        req.method,
		Target:        req.target,
		Arguments:     req.arguments,
		Outcome:       outcome,
		Reason:        reason,
		ErrorCode:     req.errCode,
		LatencyMicros: time.Since(started).Microseconds(),
		BytesIn:       r.ContentLength,
		BytesOut:      cw.bytes,
	}
	if span := tracing.FromContext(r.Context()); span.Recording() {
		span.SetName(tracing.MCPName(req.method, req.target))
		span.Session(req.rawID)
	}
	audit.TakeOver(&ev, r.Header.Get(headers.Decision))
	tracing.Audited(r.Context(), &ev)
	s.audit.Record(ev)
}

// openSession opens the caller's session for a GET stream or a DELETE, or answers as the MCP
// transport says: 400 without a session id, 404 for one that is not (or no longer) theirs.
func (s *Server) openSession(w http.ResponseWriter, req *request) (session.State, bool) {
	if req.rawID == "" {
		writeError(w, http.StatusBadRequest, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "missing Mcp-Session-Id"))
		return session.State{}, false
	}
	sess, err := s.sessions.Open(req.rawID, req.caller.Subject, req.vs.name)
	if err != nil {
		writeError(w, http.StatusNotFound, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "session not found"))
		return session.State{}, false
	}
	return sess, true
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, req *request) {
	sess, ok := s.openSession(w, req)
	if !ok {
		return
	}
	// MCP transports: after a DELETE the session id is refused (404) on every later request,
	// on every replica; the record is shared through the store.
	if err := s.sessions.End(r.Context(), req.rawID, sess); err != nil {
		s.log.Error("aggregator: session not ended", zap.String("vs", req.vs.name), zap.Error(err))
		http.Error(w, "the session could not be ended; try again", http.StatusServiceUnavailable)
		return
	}
	s.fanOut(r.Context(), req.vs, func(ctx context.Context, c *connector) (any, error) {
		sid := s.currentEverywhere(ctx, req.caller.Subject, req.vs.name, c.name, sess.Upstream[c.name])
		if sid == "" {
			return nil, nil
		}
		return nil, s.up.terminate(ctx, call{connector: c, sessionID: sid, protocolVersion: sess.ProtocolVersion, identity: req.signed})
	})
	w.WriteHeader(http.StatusNoContent)
}

func writeResult(w http.ResponseWriter, id json.RawMessage, result any, sessionID string) {
	b, err := jsonrpc.ResultResponse(id, result)
	if err != nil {
		writeError(w, http.StatusOK, id, jsonrpc.Errorf(jsonrpc.CodeInternalError, "cannot encode result"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if sessionID != "" {
		w.Header().Set("Mcp-Session-Id", sessionID)
	}
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, id json.RawMessage, e *jsonrpc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(jsonrpc.ErrorResponse(id, e))
}

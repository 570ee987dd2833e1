package aggregator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// maxRequestBody bounds a client request to the aggregator.
const maxRequestBody = 4 << 20

// Server is the aggregator's HTTP handler for every virtual server path.
type Server struct {
	state    atomic.Pointer[compiled]
	up       *upstreamClient
	signer   *identity.Signer
	sessions *session.Codec
	log      *zap.Logger
	version  string
	shadow   shadowSessions
	audit    audit.Sink
}

// NewServer returns an aggregator that reaches connectors through Envoy's egress listener at
// egressAddr, trusts identities signed by signer and mints sessions with sessions.
// Every request it answers becomes an audit event on sink (nil: none).
func NewServer(egressAddr string, signer *identity.Signer, sessions *session.Codec, version string, sink audit.Sink, log *zap.Logger) *Server {
	if sink == nil {
		sink = audit.Discard{}
	}
	return &Server{up: newUpstreamClient(egressAddr), signer: signer, sessions: sessions, log: log, version: version, audit: sink}
}

// Prepare compiles cfg; the returned commit swaps it in.
func (s *Server) Prepare(cfg *config.Config) (func(), error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	return func() { s.state.Store(c) }, nil
}

// request is one client request with everything decided about it so far.
type request struct {
	vs       *virtualServer
	state    *compiled
	caller   identity.Identity
	signed   string
	session  *session.State
	rawID    string
	protocol string
	// method and errCode are what the audit record says about the request.
	method  string
	errCode int
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	if st == nil {
		http.Error(w, "vmcp is not configured yet", http.StatusServiceUnavailable)
		return
	}
	vs := st.byPath[r.URL.Path]
	if vs == nil {
		http.NotFound(w, r)
		return
	}
	// Only requests that passed ext_authz carry a valid signed identity; anything reaching this
	// port around Envoy is refused.
	signed := r.Header.Get(headers.Identity)
	caller, err := s.signer.Verify(signed)
	if err != nil || caller.VirtualServer != vs.name {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	req := &request{vs: vs, state: st, caller: caller, signed: signed, rawID: r.Header.Get(headers.SessionID), protocol: r.Header.Get(headers.ProtocolVersion)}
	switch r.Method {
	case http.MethodPost:
		started := time.Now()
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		s.post(cw, r, req)
		s.record(r, req, cw, started)
	case http.MethodDelete:
		s.delete(w, r, req)
	default:
		// MCP transports: a server that offers no standalone SSE stream answers GET with 405.
		w.Header().Set("Allow", "POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) post(w http.ResponseWriter, r *http.Request, req *request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
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
	if msg.Method == "initialize" {
		s.initialize(w, r, req, msg)
		return
	}
	if req.rawID != "" {
		st, err := s.sessions.Open(req.rawID, req.caller.Subject, req.vs.name)
		if err != nil {
			// MCP transports: an unknown or expired session is 404 so the client starts over.
			req.errCode = jsonrpc.CodeInvalidRequest
			writeError(w, http.StatusNotFound, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "session not found: %v", err))
			return
		}
		req.session = &st
		if req.protocol == "" {
			req.protocol = st.ProtocolVersion
		}
	}
	var result any
	var rpcErr *jsonrpc.Error
	switch msg.Method {
	case "ping":
		result = struct{}{}
	case "tools/list":
		result = s.listTools(r.Context(), req)
	case "prompts/list":
		result = s.list(r.Context(), req, "prompts/list", "prompts", true)
	case "resources/list":
		result = s.list(r.Context(), req, "resources/list", "resources", false)
	case "resources/templates/list":
		result = s.list(r.Context(), req, "resources/templates/list", "resourceTemplates", false)
	default:
		rpcErr = jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "method %q is not supported by this virtual server", truncate(msg.Method))
	}
	if rpcErr != nil {
		req.errCode = rpcErr.Code
		writeError(w, http.StatusOK, msg.ID, rpcErr)
		return
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

// record writes the audit event of one request the aggregator answered.
func (s *Server) record(r *http.Request, req *request, cw *countingWriter, started time.Time) {
	if req.method == "" && req.errCode == 0 {
		return // an answer to a server request, or nothing parseable worth a record
	}
	outcome := audit.OutcomeOK
	if req.errCode != 0 || cw.status >= 400 {
		outcome = audit.OutcomeError
	}
	s.audit.Record(audit.Event{
		Kind:          audit.KindMCP,
		RequestID:     r.Header.Get("X-Request-Id"),
		Subject:       req.caller.Subject,
		Email:         req.caller.Email,
		ClientID:      req.caller.ClientID,
		VirtualServer: req.vs.name,
		Method:        req.method,
		Outcome:       outcome,
		ErrorCode:     req.errCode,
		LatencyMicros: time.Since(started).Microseconds(),
		BytesIn:       r.ContentLength,
		BytesOut:      cw.bytes,
	})
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, req *request) {
	if req.rawID == "" {
		http.Error(w, "missing Mcp-Session-Id", http.StatusBadRequest)
		return
	}
	st, err := s.sessions.Open(req.rawID, req.caller.Subject, req.vs.name)
	if err != nil {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	s.fanOut(r.Context(), req.vs, func(ctx ctxT, c *connector) (any, error) {
		sid := st.Upstream[c.name]
		if sid == "" {
			return nil, nil
		}
		return nil, s.up.terminate(ctx, call{connector: c, sessionID: sid, protocolVersion: st.ProtocolVersion, identity: req.signed})
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

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// supportedVersions are the MCP revisions that use initialize, newest first.
var supportedVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}

func negotiate(requested string) string {
	if slices.Contains(supportedVersions, requested) {
		return requested
	}
	return supportedVersions[0]
}

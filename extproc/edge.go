package extproc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/connsession"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/relay"
	"github.com/vmcp-dev/vmcp/internal/revision"
	"github.com/vmcp-dev/vmcp/internal/routing"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
	"github.com/vmcp-dev/vmcp/internal/tracing"
	"github.com/vmcp-dev/vmcp/internal/translate"
)

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// edgeExchange follows one client request through its processing steps.
type edgeExchange struct {
	state        *rewrites
	sessions     *session.Codec
	keptSessions KeptSessions
	catalog      routing.Catalog
	audit        audit.Sink
	log          *zap.Logger
	ctx          context.Context
	users        UserCredentials
	signer       *identity.Signer
	// event is the audit record of this request, filled in as it goes; sent when the outcome is
	// known, in place of authz's decision on it (handoff, the x-vmcp-decision value).
	event   audit.Event
	handoff string
	started time.Time

	vs        *virtualServer
	path      string // the request's :path, query included
	caller    toolpolicy.Caller
	subject   string
	signed    string // the signed identity from authz, for requests vmcp makes on the caller's behalf
	sessionID string
	// subjectToken is the caller's own IdP token, passed by authz only for token exchange.
	subjectToken string
	// mirror holds the request's 2026-07-28 mirrored headers.
	mirror mirrored
	// unwrapped is set when the request was a call_tool, now the named tool's tools/call: its
	// Mcp-Name header still says call_tool (metatool.go).
	unwrapped bool
	// routed is set once the request is sent to a connector rather than the aggregator.
	routed *connector
	// rename is the routed tool's name as the client sent it and as the connector knows it, so
	// that a connector's error about it names what the client sent.
	rename relay.Rename
	// kept is set when the connector session is one vmcp keeps for a sessionless client.
	kept bool
	// rpcID is the routed request's JSON-RPC id; outcome reads the connector's answer to it.
	rpcID    string
	outcome  *outcomeReader
	rewriter *relay.Rewriter
	// clientID is the id the client gave a request vmcp sent on with an id of its own (in a
	// connector session shared by the user's clients); held is a JSON answer held back to give
	// it that id again.
	clientID json.RawMessage
	held     []byte
	recorded bool
	// awaitingBody is set while a request's body is due and has not reached extproc;
	// localStatus is the status of an answer Envoy made meanwhile.
	awaitingBody bool
	localStatus  int
	httpMethod   string
	// jsonChecked and garbled follow a routed JSON answer's first bytes (connectorfault.go).
	jsonChecked, garbled bool
	// revisions says which MCP revisions the routed request's client and connector speak, for
	// translating the answer (internal/translate).
	revisions revisionPair
	// clientHeaders are the request's, for the allow-list of what reaches a connector
	// (forwardheaders.go).
	clientHeaders []*corev3.HeaderValue
	// placeBy is when placing the request must be done waiting on connectors (placing).
	placeBy time.Time
	// recovery replaces connector sessions their connector forgot (reopen.go); stale names the
	// connector session a routed call went in (inSession says it did), forwarded is the call as
	// sent and connVersion its revision, to send it again; retried is set once it was.
	recovery    SessionRecovery
	stale       connsession.Ref
	inSession   bool
	forwarded   []byte
	connVersion string
	retried     bool
	// headersSeen is set once the request headers are known, from their own message or from
	// the metadata authz sent along with the body (plain.go); hinted is the connector whose
	// route authz's hint picked, which only that connector may be forwarded to.
	headersSeen bool
	hinted      string
	// plain is set when the headers came with the body: the request is on a connector's plain
	// route, where only the body and the route's metadata-set headers can change.
	plain bool
	// direct is set on a connector's direct route, where the answer goes to the client without
	// extproc and the outcome comes from Envoy's access log (direct.go).
	direct   bool
	outcomes *pendingOutcomes
	// send sends Envoy a message ahead of the answer to the current one.
	send func(*extprocv3.ProcessingResponse) error
}

// revisionPair is what the answer to a routed request is translated between.
type revisionPair struct {
	client, connector, method string
	// logs is set when a 2026-07-28 client asked for log messages.
	logs bool
}

func (e *edgeExchange) handle(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch r := req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return e.requestHeaders(req, r.RequestHeaders)
	case *extprocv3.ProcessingRequest_RequestBody:
		if !e.headersSeen {
			// A connector's plain route: authz passed the headers on (plain.go).
			if h := headersFromMetadata(req); h != nil {
				e.plain = true
				e.direct = headerValue(h.GetHeaders(), headers.DirectAnswer) != ""
				if refused := e.noteHeaders(req, h); refused != nil {
					return refused
				}
			}
		}
		resp := e.requestBody(r.RequestBody)
		if e.hinted != "" && e.routed == nil && resp.GetImmediateResponse() == nil {
			// The route goes to the hinted connector, and extproc sends this request elsewhere
			// (the aggregator answers it): fail closed rather than let it reach the connector
			// as the client sent it.
			return e.routedInconsistently(nil, "the aggregator would answer it")
		}
		return resp
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return e.responseHeaders(r.ResponseHeaders)
	case *extprocv3.ProcessingRequest_ResponseBody:
		return e.responseBody(r.ResponseBody)
	default:
		// Bodies and trailers of responses are not requested by the bootstrap; pass them on.
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
			ResponseBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{}},
		}}
	}
}

// requestHeaders notes who is calling, on which virtual server and session. ext_authz has
// already removed client-sent internal headers (and refused untrusted browser origins); removing
// the routing header again costs nothing and keeps routing safe even behind a misconfigured
// ext_authz.
//
// On a connector's plain route this message is skipped, and the headers come with the body
// (plain.go).
func (e *edgeExchange) requestHeaders(req *extprocv3.ProcessingRequest, h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	if refused := e.noteHeaders(req, h); refused != nil {
		return refused
	}
	return continueRequestHeaders(&extprocv3.HeaderMutation{RemoveHeaders: []string{headers.Connector}})
}

// noteHeaders reads what the exchange needs from the request headers; it answers only to refuse
// the request (a body declared too large).
func (e *edgeExchange) noteHeaders(req *extprocv3.ProcessingRequest, h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	e.headersSeen = true
	e.hinted = headerValue(h.GetHeaders(), headers.RouteHint)
	e.path = headerValue(h.GetHeaders(), ":path")
	e.clientHeaders = h.GetHeaders().GetHeaders()
	path, _, _ := strings.Cut(e.path, "?")
	e.vs = e.state.byPath[path]
	e.started = time.Now()
	e.event.RequestID = headerValue(h.GetHeaders(), "x-request-id")
	e.sessionID = headerValue(h.GetHeaders(), headers.SessionID)
	e.mirror = mirrored{version: headerValue(h.GetHeaders(), headers.ProtocolVersion)}
	e.mirror.method, e.mirror.hasMethod = headerLookup(h.GetHeaders(), headers.Method)
	e.mirror.name, e.mirror.hasName = headerLookup(h.GetHeaders(), headers.Name)
	e.identify(req, headerValue(h.GetHeaders(), headers.Identity))
	e.handoff = headerValue(h.GetHeaders(), headers.Decision)
	e.awaitingBody = !h.GetEndOfStream()
	e.httpMethod = headerValue(h.GetHeaders(), ":method")
	if e.vs != nil {
		e.event.Kind, e.event.VirtualServer = audit.KindMCP, e.vs.name
		e.event.Subject, e.event.Email, e.event.ClientID = e.subject, e.caller.Email, e.caller.ClientID
		if n, err := strconv.ParseInt(headerValue(h.GetHeaders(), "content-length"), 10, 64); err == nil && n > int64(e.state.maxBody) && e.subject != "" {
			// A body declared too large is refused now, before Envoy buffers any of it: left
			// to the buffer limit, a client still sending when the buffer filled could wait
			// for the request timeout (408) instead of getting this 413.
			e.awaitingBody = false
			e.event.Method, e.event.BytesIn = e.mirror.method, n
			if e.event.Method == "" {
				e.event.Method = headerValue(h.GetHeaders(), ":method")
			}
			e.event.Reason = "request body over server.max_request_bytes"
			return e.refuse(http.StatusRequestEntityTooLarge, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "request body of %d bytes is over the limit of %d bytes", n, e.state.maxBody), audit.OutcomeError)
		}
	}
	return nil
}

// identify reads the caller from the identity authz signed for this request (x-vmcp-identity,
// which ext_authz set over anything the client sent). An identity that does not verify, or names
// another virtual server, leaves the request without a caller: the route or ext_authz answers.
func (e *edgeExchange) identify(req *extprocv3.ProcessingRequest, signed string) {
	if e.signer == nil || signed == "" {
		return
	}
	id, err := e.signer.Verify(signed)
	if err != nil || e.vs != nil && id.VirtualServer != e.vs.name {
		return
	}
	e.subject, e.signed = id.Subject, signed
	e.caller = toolpolicy.Caller{Subject: id.Subject, Email: id.Email, Groups: id.Groups, ClientID: id.ClientID}
	// ext_authz's dynamic metadata arrives under the filter's name (forwarding_namespaces in the
	// bootstrap's ext_proc filter).
	if md := req.GetMetadataContext().GetFilterMetadata()[envoynames.FilterExtAuthz]; md != nil {
		e.subjectToken = md.GetFields()[headers.SubjectTokenMetadata].GetStringValue()
	}
}

// requestBody is decode → decide → mutate for one JSON-RPC message.
func (e *edgeExchange) requestBody(b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	e.awaitingBody = false
	if e.vs == nil || e.subject == "" {
		// Not a virtual server request, or no verified caller: the route or ext_authz answers.
		return continueRequestBody()
	}
	e.event.BytesIn = int64(len(b.GetBody()))
	if len(b.GetBody()) > e.state.maxBody {
		// Envoy let the chunk that crossed its buffer limit through.
		return e.refuse(http.StatusRequestEntityTooLarge, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "request body over %d bytes", e.state.maxBody), audit.OutcomeError)
	}
	msg, err := jsonrpc.Parse(b.GetBody())
	if err != nil {
		var rpcErr *jsonrpc.Error
		errors.As(err, &rpcErr)
		return e.refuse(http.StatusBadRequest, nil, rpcErr, audit.OutcomeError)
	}
	req, rpcErr := routing.ReadRequest(msg.Method, msg.Params)
	if rpcErr != nil {
		e.event.Method = msg.Method
		return e.refuse(http.StatusOK, msg.ID, rpcErr, audit.OutcomeError)
	}
	if rpcErr := e.mirror.check(msg, req.Target, req.NamesTarget()); rpcErr != nil {
		e.event.Method = msg.Method
		return e.refuse(http.StatusBadRequest, msg.ID, rpcErr, audit.OutcomeError)
	}
	if req.Kind == routing.NotRouted {
		if c, id, ok := e.replyTarget(msg); ok {
			// The client's answer to a request a connector sent it (elicitation, sampling):
			// back to that connector, with the connector's own id.
			e.event.Method, e.event.Connector = "response", c.name
			msg.ID = id
			return e.forward(msg, c, nil, req.Kind, "", "")
		}
		// initialize, discover, lists, ping, notifications: the aggregator.
		return continueRequestBody()
	}
	e.event.Method = msg.Method
	req.VirtualServer, req.Caller, req.SignedIdentity = e.vs.route, e.caller, e.signed
	return e.decided(msg, &req, e.decide(req))
}

// forward rewrites a request (or a reply) for connector c: its credential, the routing header,
// its own session id and, for a request, the connector's own name for the target.
func (e *edgeExchange) forward(msg *jsonrpc.Message, c *connector, params map[string]json.RawMessage, kind routedKind, name, original string) *extprocv3.ProcessingResponse {
	if e.hinted != "" && c.name != e.hinted {
		return e.routedInconsistently(msg.ID, "it goes to connector "+c.name)
	}
	set, remove, refused := e.connectorCredential(c, msg)
	if refused != nil {
		return refused
	}
	set = append(set, setHeader(headers.Connector, c.name))
	if c.query != nil {
		set = append(set, setHeader(":path", credential.WithQueryParam(e.path, *c.query)))
	}
	remove = append(remove, headers.SessionID)
	modern := revision.Modern(e.mirror.version)
	upstream := ""
	// paramsChanged says the params must be encoded again; unchanged, they go as the client sent
	// them.
	paramsChanged := false
	// The connector speaks the client's revision unless it is reached in a session vmcp keeps.
	e.revisions = revisionPair{client: e.mirror.version, connector: e.mirror.version, method: msg.Method, logs: modern && translate.AsksForLogs(params)}
	if e.sessionID != "" && !modern {
		sess, err := e.sessions.Open(e.sessionID, e.subject, e.vs.name)
		if err != nil {
			// MCP transports: an unknown or expired session is 404, so the client re-initializes.
			e.event.Reason = "session not found"
			return e.refuse(http.StatusNotFound, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "session not found: %v", err), audit.OutcomeError)
		}
		upstream = sess.Upstream[c.name]
		if e.revisions.client == "" {
			e.revisions.client = sess.ProtocolVersion
		}
		// The connector's session was opened in the revision the client's was.
		e.revisions.connector = sess.ProtocolVersion
		if upstream != "" {
			e.inSession, e.stale = true, connsession.Ref{Sealed: upstream, Version: sess.ProtocolVersion, Expires: time.Unix(sess.Expiry, 0)}
			if e.recovery != nil {
				upstream = e.recovery.CurrentConnectorSession(e.subject, e.vs.name, c.name, upstream)
			}
		}
	}
	e.connVersion = e.mirror.version
	if upstream != "" {
		set = append(set, setHeader(headers.SessionID, upstream))
		remove = remove[:len(remove)-1]
	} else if e.keptSessions != nil {
		// No session with this connector: the client keeps none (stateless, 2026-07-28), or the
		// connector was down when the client's session began. A session vmcp keeps serves.
		ctx, cancel := e.placing()
		sid, version, err := e.keptSessions.ConnectorSession(ctx, e.signed, e.subject, e.vs.name, c.name, modern)
		cancel()
		if err != nil {
			e.log.Warn("extproc: no connector session for a sessionless client", zap.String("vs", e.vs.name), zap.String("connector", c.name), zap.Error(err))
			return e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q is unavailable", c.name), audit.OutcomeUpstream)
		}
		if sid != "" {
			set = append(set, setHeader(headers.SessionID, sid))
			remove = remove[:len(remove)-1]
			e.inSession, upstream = true, sid
		}
		if version != "" {
			set = append(set, setHeader(headers.ProtocolVersion, version))
			e.revisions.connector = version
			e.connVersion = version
		}
		if modern && !revision.Modern(version) {
			// A 2026-07-28 request to a connector of the 2025 revisions, in the session vmcp
			// keeps: without the modern _meta fields and headers, which would make it a
			// 2026-07-28 request again.
			translate.RequestParams(params, e.mirror.version, version)
			paramsChanged = true
			remove = append(remove, headers.Method, headers.Name)
			e.mirror.hasName = false
		}
		e.kept = !revision.Modern(version)
	}

	if original != name || e.unwrapped {
		if err := renameTarget(params, kind, original); err != nil {
			return e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInternalError, "rewrite failed"), audit.OutcomeError)
		}
		paramsChanged = true
		if e.mirror.hasName {
			// The connector checks its own name against the body (2026-07-28).
			set = append(set, setHeader(headers.Name, original))
		}
	}
	if paramsChanged {
		msg.Params = jsonrpc.EncodeObject(params)
	}
	if e.kept && msg.IsRequest() {
		// The session is shared by every sessionless client of this user: ids the clients
		// chose may collide there, so the connector sees one of vmcp's (and the answer gets
		// the client's back).
		e.clientID, msg.ID = msg.ID, keptRequestID()
	}
	body := msg.Encode()
	remove = withoutUnforwarded(e.clientHeaders, set, remove)
	e.routed = c
	e.rpcID = string(msg.ID)
	if !msg.IsRequest() {
		// A client's answer to a request from a session the connector forgot has no one to
		// go to in a new session.
		e.inSession = false
	}
	if e.inSession {
		e.stale.SignedIdentity, e.stale.Subject, e.stale.VirtualServer, e.stale.Connector, e.stale.Stale = e.signed, e.subject, e.vs.name, c.name, upstream
		e.forwarded = body
	}
	if name != original {
		e.rename = relay.Rename{Original: original, Name: name}
	}
	e.log.Debug("extproc: routed", zap.String("vs", e.vs.name), zap.String("connector", c.name), zap.String("method", msg.Method), zap.String("name", original))
	if e.direct && (e.inSession || e.kept || e.clientID != nil || translate.For(e.revisions.client, e.revisions.connector, e.revisions.method) != nil) {
		// authz saw a connector of the client's revision; extproc's answer says otherwise.
		return e.routedInconsistently(msg.ID, "its answer needs rewriting, which a direct route cannot do")
	}
	if e.plain {
		return e.plainRewrite(msg, c, body, set, remove)
	}
	return rewriteRequestBody(body, set, remove)
}

// responseHeaders hides the connector's own session id: the client knows only vmcp's.
func (e *edgeExchange) responseHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	if e.awaitingBody {
		// Envoy answered before the body arrived (a local reply): done records it.
		e.localStatus, _ = strconv.Atoi(headerValue(h.GetHeaders(), ":status"))
	}
	if e.routed == nil {
		return continueResponseHeaders(nil)
	}
	status := headerValue(h.GetHeaders(), ":status")
	if status == "404" && e.inSession && e.recovery != nil && !e.retried {
		return e.retryInNewSession()
	}
	e.setHTTPOutcome(status)
	if e.kept && status == "404" {
		// MCP transports: 404 means the connector forgot the session (it restarted, say). The
		// next call makes a new one.
		e.keptSessions.ForgetConnectorSession(e.subject, e.vs.name, e.routed.name)
	}
	// A 2xx JSON or SSE answer is read as it streams by, to record the call's real outcome (a
	// JSON-RPC error or a tool error travels in a 200). Anything else is recorded now.
	var override *extprocfilterv3.ProcessingMode
	ct := mediaType(headerValue(h.GetHeaders(), "content-type"))
	if code, err := strconv.Atoi(status); err == nil {
		if fault := connectorFault(e.routed.name, code, ct); fault != nil {
			return e.failRoutedCall(fault)
		}
	}
	tr := translate.For(e.revisions.client, e.revisions.connector, e.revisions.method).WithLogs(e.revisions.logs)
	if ct == "text/event-stream" || (ct == "application/json" && (e.clientID != nil || tr != nil)) {
		// Requests the connector sends the client in its SSE answer need reply ids, an answer
		// in a shared connector session needs the client's own id back, and an answer in
		// another revision than the client's needs translating.
		e.rewriter = &relay.Rewriter{Connector: e.routed.name, Translate: tr, Rename: e.rename}
		if e.clientID != nil {
			e.rewriter.AnswerID, e.rewriter.ClientID = json.RawMessage(e.rpcID), e.clientID
		}
	}
	if e.event.Outcome == audit.OutcomeOK && mcpAnswer(ct) || e.rewriter != nil {
		e.outcome = &outcomeReader{id: e.rpcID, sse: ct == "text/event-stream"}
		override = &extprocfilterv3.ProcessingMode{
			ResponseHeaderMode:  extprocfilterv3.ProcessingMode_SEND,
			ResponseBodyMode:    extprocfilterv3.ProcessingMode_STREAMED,
			ResponseTrailerMode: extprocfilterv3.ProcessingMode_SKIP,
		}
	} else {
		e.record()
	}
	resp := e.sessionHeaderResponse()
	resp.ModeOverride = override
	if e.outcome != nil && !e.outcome.sse {
		mayReplaceJSONBody(resp)
	}
	return resp
}

// sessionHeaderResponse hides the connector's own session id: the client knows only vmcp's.
func (e *edgeExchange) sessionHeaderResponse() *extprocv3.ProcessingResponse {
	if e.sessionID != "" {
		return continueResponseHeaders(&extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{setHeader(headers.SessionID, e.sessionID)}})
	}
	return continueResponseHeaders(&extprocv3.HeaderMutation{RemoveHeaders: []string{headers.SessionID}})
}

// responseBody watches a routed answer stream by until the outcome is known, giving requests
// from the connector reply ids on the way.
func (e *edgeExchange) responseBody(b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if e.outcome != nil && !e.outcome.sse {
		if resp := e.checkGarbled(b); resp != nil {
			return resp
		}
	}
	if e.outcome != nil && !e.recorded {
		e.event.BytesOut += int64(len(b.GetBody()))
		found := e.outcome.feed(b.GetBody())
		if b.GetEndOfStream() {
			e.outcome.finish()
			found = e.outcome.found
		}
		if found {
			e.event.Outcome, e.event.ErrorCode = e.outcome.result, e.outcome.code
		}
		if found || b.GetEndOfStream() {
			e.record()
		}
	}
	common := &extprocv3.CommonResponse{}
	switch {
	case e.rewriter == nil && e.outcome != nil && !e.outcome.sse && e.rename.Original != "" &&
		b.GetEndOfStream() && e.event.BytesOut == int64(len(b.GetBody())) && e.outcome.code != 0:
		// A JSON error answer in one piece (as small errors come): name the tool as the client
		// did. Answers are never held back for this; an error split across chunks goes as is.
		if body := e.rename.RenameInErrorBody(b.GetBody()); body != nil {
			common.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}}
		}
	case e.rewriter != nil && e.outcome != nil && !e.outcome.sse:
		// A JSON answer is rewritten whole: held back until its end.
		e.held = append(e.held, b.GetBody()...)
		if b.GetEndOfStream() || len(e.held) > maxHeldAnswer {
			common.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: e.rewriter.Answer(e.held)}}
			if !b.GetEndOfStream() {
				e.log.Warn("extproc: answer too large to give back the client's id", zap.String("connector", e.routed.name))
			}
			e.rewriter, e.held = nil, nil
		} else {
			common.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}
		}
	case e.rewriter != nil:
		common.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: e.rewriter.Feed(b.GetBody(), b.GetEndOfStream())}}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
		ResponseBody: &extprocv3.BodyResponse{Response: common},
	}}
}

// done is called when Envoy closes the stream: a routed call whose answer never finished (the
// client went away, say) is still recorded, with what is known.
//
// A request whose body never reached extproc was answered by Envoy itself (413 over its buffer
// limit, 408 when the body is too slow) or abandoned by the client: vmcp records it here, as
// nothing else will (the aggregator never sees it).
func (e *edgeExchange) done() {
	if e.recorded {
		return
	}
	switch {
	case e.routed != nil:
		if e.event.Outcome == "" {
			// No answer came before the client (or Envoy) ended the stream.
			e.event.Outcome = audit.OutcomeAbandoned
		}
	case e.awaitingBody && e.vs != nil && e.subject != "":
		if e.event.Method = e.mirror.method; e.event.Method == "" {
			// The JSON-RPC method is in the body that never came.
			e.event.Method = e.httpMethod
		}
		switch e.localStatus {
		case http.StatusRequestEntityTooLarge:
			e.event.Outcome, e.event.ErrorCode = audit.OutcomeError, jsonrpc.CodeInvalidRequest
			e.event.Reason = "request body over the edge's buffer limit (Envoy answered 413)"
		case http.StatusRequestTimeout:
			e.event.Outcome = audit.OutcomeError
			e.event.Reason = "request body not received in time (Envoy answered 408)"
		default:
			e.event.Outcome = audit.OutcomeAbandoned
			e.event.Reason = "the request ended before its body arrived"
		}
	default:
		return
	}
	e.record()
}

// refuse answers the client directly and records why.
func (e *edgeExchange) refuse(httpStatus int, id json.RawMessage, rpcErr *jsonrpc.Error, outcome string) *extprocv3.ProcessingResponse {
	e.event.Outcome, e.event.ErrorCode = outcome, rpcErr.Code
	e.record()
	return rpcError(httpStatus, id, rpcErr)
}

// setHTTPOutcome notes the connector's HTTP answer for the routed call.
func (e *edgeExchange) setHTTPOutcome(status string) {
	e.event.Outcome = audit.OutcomeOK
	if code, err := strconv.Atoi(status); err == nil && (code < 200 || code > 299) {
		e.event.Outcome, e.event.UpstreamStatus = audit.OutcomeUpstream, code
	}
}

// record sends the routed call's audit event, once.
func (e *edgeExchange) record() {
	if e.recorded {
		return
	}
	e.recorded = true
	e.event.LatencyMicros = time.Since(e.started).Microseconds()
	audit.TakeOver(&e.event, e.handoff)
	span := tracing.FromContext(e.ctx)
	span.Session(e.sessionID)
	span.Audited(&e.event)
	e.audit.Record(e.event)
}

package extproc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/revision"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/usercred"
)

// UserCredentials resolves per-user connector credentials (usercred.Resolver): the user's own
// OAuth token, an exchanged token, or a signed identity assertion.
type UserCredentials interface {
	Headers(ctx context.Context, caller usercred.Caller, connector string) ([]credential.Header, error)
}

// SetUserCredentials enables connectors with per-user credentials: uc resolves them. Call before
// serving.
func (s *Server) SetUserCredentials(uc UserCredentials) {
	s.users = uc
}

// CodeURLElicitationRequired is MCP 2025-11-25's URLElicitationRequiredError: the request cannot
// proceed until the user completes the URL-mode elicitations in the error's data.
const CodeURLElicitationRequired = -32042

// connectorCredential returns the header changes that authenticate a routed call to c, or the
// answer to send instead when the caller has to connect their account first.
func (e *edgeExchange) connectorCredential(c *connector, msg *jsonrpc.Message) (set []*corev3.HeaderValueOption, remove []string, refusal *extprocv3.ProcessingResponse) {
	if !c.perUser {
		set, remove = credentialMutation(c)
		return set, remove, nil
	}
	if e.users == nil {
		return nil, nil, e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q is unavailable", c.name), audit.OutcomeError)
	}
	caller := usercred.Caller{Subject: e.subject, Email: e.caller.Email, Groups: e.caller.Groups, SubjectToken: e.subjectToken}
	hs, err := e.users.Headers(e.ctx, caller, c.name)
	var nc *credential.NotConnectedError
	switch {
	case errors.As(err, &nc):
		return nil, nil, e.notConnected(msg, nc)
	case err != nil:
		// The message may name the connector and a status, never a token (usercred's errors
		// quote no token service answer).
		e.log.Warn("extproc: per-user credential unavailable", zap.String("vs", e.vs.name), zap.String("connector", c.name), zap.Error(err))
		return nil, nil, e.refuse(http.StatusOK, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q: your credential for it is unavailable right now", c.name), audit.OutcomeError)
	}
	set, remove = headerMutation(hs)
	return set, remove, nil
}

// notConnected tells the client where the user connects their account: a URL-mode elicitation
// (-32042) when the client declared it can show one (MCP 2025-11-25: elicitation.url in its
// initialize capabilities, kept in the session, or in a 2026-07-28 request's _meta), else a tool
// error result whose text carries the link, which every client shows to the model and usually to
// the user.
func (e *edgeExchange) notConnected(msg *jsonrpc.Message, nc *credential.NotConnectedError) *extprocv3.ProcessingResponse {
	text := "To use " + nc.Connector + ", connect your account first: open " + nc.URL + " in your browser, then try again."
	if e.declaresURLElicitation(msg) {
		id := make([]byte, 16)
		rand.Read(id)
		data := map[string]any{"elicitations": []map[string]string{{
			"mode": "url", "elicitationId": hex.EncodeToString(id), "url": nc.URL,
			"message": "Connect your " + nc.Connector + " account to vmcp to use its tools.",
		}}}
		return e.refuse(http.StatusOK, msg.ID, &jsonrpc.Error{Code: CodeURLElicitationRequired, Message: "This request requires connecting your " + nc.Connector + " account.", Data: mustJSON(data)}, audit.OutcomeError)
	}
	if msg.Method != "tools/call" {
		return e.refuse(http.StatusOK, msg.ID, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: text}, audit.OutcomeError)
	}
	e.event.Outcome, e.event.ErrorCode = audit.OutcomeError, CodeURLElicitationRequired
	e.record()
	body, _ := jsonrpc.ResultResponse(msg.ID, map[string]any{
		"content": []map[string]string{{"type": "text", "text": text}},
		"isError": true,
	})
	return jsonReply(http.StatusOK, body, "vmcp_not_connected")
}

// declaresURLElicitation reads the client's URL elicitation capability: from the request's _meta
// (2026-07-28, no sessions), else from the session it initialized.
func (e *edgeExchange) declaresURLElicitation(msg *jsonrpc.Message) bool {
	if revision.Modern(e.mirror.version) {
		var p struct {
			Meta struct {
				Caps json.RawMessage `json:"io.modelcontextprotocol/clientCapabilities"`
			} `json:"_meta"`
		}
		json.Unmarshal(msg.Params, &p)
		return session.DeclaresURLElicitation(p.Meta.Caps)
	}
	if e.sessionID == "" {
		return false
	}
	sess, err := e.sessions.Open(e.sessionID, e.subject, e.vs.name)
	return err == nil && sess.URLElicitation
}

// egressUserCredential resolves the per-user credential of a fan-out request for the caller
// whose identity the aggregator signed (checked by admit). A caller who is not connected gets no
// credential at all, and the connector answers as to anyone unauthenticated: the aggregator
// leaves it out.
func (e *egressExchange) egressUserCredential(c *connector, id identity.Identity) (set []*corev3.HeaderValueOption, remove []string) {
	remove = []string{headers.Authorization}
	if e.users == nil {
		return nil, remove
	}
	hs, err := e.users.Headers(e.ctx, usercred.Caller{Subject: id.Subject, Email: id.Email, Groups: id.Groups}, c.name)
	if err != nil {
		var nc *credential.NotConnectedError
		if !errors.As(err, &nc) {
			e.log.Warn("extproc: per-user credential unavailable on egress", zap.String("connector", c.name), zap.Error(err))
		}
		return nil, remove
	}
	return headerMutation(hs)
}

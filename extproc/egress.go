package extproc

import (
	"context"
	"net/http"
	"strconv"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// egressExchange handles one aggregator→connector request on the egress listener: it attaches
// that connector's credential, so fan-out and routed calls authenticate the same way and the
// aggregator never holds connector secrets.
//
// The egress listener hands out vmcp's connector credentials, so it serves only requests vmcp
// itself made for a signed-in user: an identity signed with vmcp's key, unexpired, for a virtual
// server that has the connector. Any other process that can reach the listener (every container
// of a pod or a docker-compose network namespace shares loopback) gets 403 and an audit record,
// never the credential.
type egressExchange struct {
	state  *rewrites
	users  UserCredentials
	signer *identity.Signer
	audit  audit.Sink
	ctx    context.Context
	log    *zap.Logger
	// event is this request's audit record; sent at the connector's answer or the stream's end.
	event    audit.Event
	started  time.Time
	pending  bool
	recorded bool
}

// Egress refusal reasons, recorded in the audit event (the caller learns only that it was
// refused: it may be probing).
const (
	egressNoIdentity       = "no identity signed by vmcp"
	egressBadIdentity      = "the identity does not verify (forged, expired or malformed)"
	egressUnknownVS        = "the identity names no configured virtual server"
	egressNotOnVS          = "the connector is not on the identity's virtual server"
	egressUnknownConnector = "no such connector"
)

func (e *egressExchange) handle(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	if resp := req.GetResponseHeaders(); resp != nil {
		e.answered(headerValue(resp.GetHeaders(), ":status"))
		return continueResponseHeaders(nil)
	}
	rh := req.GetRequestHeaders()
	if rh == nil {
		// The bootstrap asks only for headers on egress; answer anything else neutrally.
		return continueRequestBody()
	}
	e.started = time.Now()
	hs := rh.GetHeaders()
	name := headerValue(hs, headers.Connector)
	e.event = audit.Event{Kind: audit.KindEgress, RequestID: headerValue(hs, "x-request-id"), Connector: name,
		Method: headerValue(hs, headers.RPCMethod), Policy: "egress"}
	if e.event.Method == "" {
		e.event.Method = headerValue(hs, ":method")
	}
	c, caller, refusal := e.admit(name, headerValue(hs, headers.Identity))
	if refusal != "" {
		return e.refuse(refusal)
	}
	e.event.Decision = "allow"
	e.pending = true
	set, remove := credentialMutation(c)
	if c.perUser {
		set, remove = e.egressUserCredential(c, caller)
	}
	if c.query != nil {
		set = append(set, setHeader(":path", credential.WithQueryParam(headerValue(hs, ":path"), *c.query)))
	}
	remove = append(remove, headers.RPCMethod)
	// The aggregator builds these requests itself, but the allow-list holds here too: whatever
	// Go's client or a later change adds (Accept-Encoding, say) reaches no connector unless listed.
	remove = withoutUnforwarded(rh.GetHeaders().GetHeaders(), set, remove)
	return continueRequestHeaders(&extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: remove})
}

// admit checks that vmcp signed this request for a user of a virtual server that has connector
// name, and fills in who it is for; a refusal says why not.
func (e *egressExchange) admit(name, signed string) (*connector, identity.Identity, string) {
	if signed == "" || e.signer == nil {
		return nil, identity.Identity{}, egressNoIdentity
	}
	id, err := e.signer.Verify(signed)
	if err != nil {
		return nil, id, egressBadIdentity
	}
	e.event.Subject, e.event.Email, e.event.ClientID, e.event.VirtualServer = id.Subject, id.Email, id.ClientID, id.VirtualServer
	vs := e.state.byName[id.VirtualServer]
	if vs == nil {
		return nil, id, egressUnknownVS
	}
	if e.state.connectors[name] == nil {
		return nil, id, egressUnknownConnector
	}
	c := vs.connectors[name]
	if c == nil {
		return nil, id, egressNotOnVS
	}
	return c, id, ""
}

// refuse answers 403 without reaching the connector, and records the refusal.
func (e *egressExchange) refuse(reason string) *extprocv3.ProcessingResponse {
	e.event.Decision, e.event.Reason, e.event.Outcome = "deny", reason, audit.OutcomeDenied
	e.event.ErrorCode = jsonrpc.CodeForbidden
	e.record()
	e.log.Warn("extproc: egress request refused", zap.String("connector", e.event.Connector), zap.String("reason", reason))
	body := jsonrpc.ErrorResponse(nil, jsonrpc.Errorf(jsonrpc.CodeForbidden,
		"refused: vmcp's egress listener serves only requests vmcp signed for a user of a virtual server with this connector"))
	return jsonReply(http.StatusForbidden, body, "vmcp_egress_refused")
}

// answered records an admitted request with the connector's (or Envoy's) HTTP answer.
func (e *egressExchange) answered(status string) {
	if !e.pending {
		return
	}
	e.event.Outcome = audit.OutcomeOK
	if code, err := strconv.Atoi(status); err == nil && (code < 200 || code > 299) {
		e.event.Outcome, e.event.UpstreamStatus = audit.OutcomeUpstream, code
	}
	e.record()
}

// done records an admitted request whose answer never came (the aggregator gave up on it).
func (e *egressExchange) done() {
	if e.pending && !e.recorded {
		e.event.Outcome = audit.OutcomeAbandoned
		e.record()
	}
}

func (e *egressExchange) record() {
	if e.recorded || e.audit == nil {
		return
	}
	e.recorded = true
	e.event.LatencyMicros = time.Since(e.started).Microseconds()
	tracing.Audited(e.ctx, &e.event)
	e.audit.Record(e.event)
}

// credentialMutation sets the connector's credential headers and removes any Authorization the
// credential does not itself set, so no other token can ride along.
func credentialMutation(c *connector) (set []*corev3.HeaderValueOption, remove []string) {
	return headerMutation(c.credential)
}

// headerMutation sets credential headers and removes any Authorization they do not set.
func headerMutation(hs []credential.Header) (set []*corev3.HeaderValueOption, remove []string) {
	setsAuthorization := false
	set = make([]*corev3.HeaderValueOption, 0, len(hs)+2)
	for _, h := range hs {
		set = append(set, setHeader(h.Name, h.Value))
		setsAuthorization = setsAuthorization || h.Name == headers.Authorization
	}
	if !setsAuthorization {
		remove = append(remove, headers.Authorization)
	}
	return set, remove
}

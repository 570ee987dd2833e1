package extproc

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	accesslogdatav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// A routed call on a connector's direct route (authz/hint.go: a 2026-07-28 call to a connector
// that speaks 2026-07-28) costs extproc one message, the request's body. The answer goes from
// the connector to the client through Envoy alone: nothing in it needs rewriting, and Envoy's
// own filters read its outcome into dynamic metadata (envoynames.AnswerMetadata), which Envoy's
// access log brings back to vmcp when the call ends. Until then the call's audit event waits
// here, complete but for its outcome; a call whose outcome never comes is recorded anyway, as
// audit.OutcomeUnknown, so that no call goes unrecorded.

// outcomeGrace is how long after its connector's call timeout a direct call's outcome may still
// arrive: the access log sends its entries in batches (the bootstrap's buffer_flush_interval), and
// Envoy ends a call at its route timeout, the connector's call timeout.
const outcomeGrace = 10 * time.Second

// parkedCall is the audit event of a direct call, waiting for its outcome.
type parkedCall struct {
	event audit.Event
	sink  audit.Sink
	log   *zap.Logger
	timer *time.Timer
}

// pendingOutcomes are the direct calls whose outcome Envoy's access log has not brought yet, by
// request id (Envoy's x-request-id, which names the call in the log entry too). The zero value
// is ready.
type pendingOutcomes struct {
	mu    sync.Mutex
	calls map[string]*parkedCall
}

// park holds ev until its outcome arrives (complete) or wait has passed, when it is recorded as
// audit.OutcomeUnknown.
func (p *pendingOutcomes) park(ev audit.Event, sink audit.Sink, log *zap.Logger, wait time.Duration) {
	if ev.RequestID == "" {
		// Nothing to find it by: what is known now is all there will be.
		ev.Outcome, ev.Reason = audit.OutcomeUnknown, "the call had no request id to match its outcome by"
		sink.Record(ev)
		return
	}
	if ps, ok := sink.(audit.PendingSink); ok {
		// Journaled now, so that a vmcp killed before the outcome comes still has the call.
		held := ev
		held.Reason = stoppedFirst
		held = ps.Pending(held)
		ev.ID, ev.Time = held.ID, held.Time
	}
	c := &parkedCall{event: ev, sink: sink, log: log}
	p.mu.Lock()
	if p.calls == nil {
		p.calls = map[string]*parkedCall{}
	}
	p.calls[ev.RequestID] = c
	c.timer = time.AfterFunc(wait, func() { p.expire(ev.RequestID, c) })
	p.mu.Unlock()
}

// take removes and returns the call waiting under requestID, or nil.
func (p *pendingOutcomes) take(requestID string) *parkedCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[requestID]
	if c != nil {
		delete(p.calls, requestID)
		c.timer.Stop()
	}
	return c
}

func (p *pendingOutcomes) expire(requestID string, c *parkedCall) {
	p.mu.Lock()
	if p.calls[requestID] != c {
		p.mu.Unlock()
		return // completed meanwhile
	}
	delete(p.calls, requestID)
	p.mu.Unlock()
	if c.log != nil {
		c.log.Warn("extproc: a direct call's outcome never arrived; recorded without it", zap.String("request_id", requestID), zap.String("vs", c.event.VirtualServer), zap.String("connector", c.event.Connector))
	}
	c.recordWithoutOutcome("the call's outcome did not arrive from Envoy's access log")
}

// stoppedFirst is why a call is recorded without its outcome when vmcp stops first.
const stoppedFirst = "vmcp stopped before the call's outcome arrived"

// recordWithoutOutcome records the call as audit.OutcomeUnknown, for reason.
func (c *parkedCall) recordWithoutOutcome(reason string) {
	c.event.Outcome, c.event.Reason = audit.OutcomeUnknown, reason
	c.sink.Record(c.event)
}

// flush records every waiting call without its outcome: vmcp is stopping.
func (p *pendingOutcomes) flush() {
	p.mu.Lock()
	calls := p.calls
	p.calls = nil
	p.mu.Unlock()
	for _, c := range calls {
		c.timer.Stop()
		c.recordWithoutOutcome(stoppedFirst)
	}
}

// FlushOutcomes records the direct calls still waiting for their outcome, without it: vmcp is
// stopping, and the access log entries that would complete them will not be read.
func (s *Server) FlushOutcomes() { s.outcomes.flush() }

// complete records the call entry ends, with the outcome it carries; false when no call was
// waiting for it (recorded already, or parked by another vmcp).
func (p *pendingOutcomes) complete(entry *accesslogdatav3.HTTPAccessLogEntry) bool {
	c := p.take(entry.GetRequest().GetRequestId())
	if c == nil {
		return false
	}
	answerOutcome(&c.event, entry)
	c.sink.Record(c.event)
	return true
}

// answerOutcome fills in ev from the log entry of its call: the answer's outcome as Envoy's
// json_to_metadata or sse_to_metadata filter read it, else what the HTTP exchange says.
func answerOutcome(ev *audit.Event, entry *accesslogdatav3.HTTPAccessLogEntry) {
	common, resp := entry.GetCommonProperties(), entry.GetResponse()
	ev.BytesOut = int64(resp.GetResponseBodyBytes())
	if d := common.GetTimeToLastDownstreamTxByte(); d != nil {
		ev.LatencyMicros = d.AsDuration().Microseconds()
	}
	answer := common.GetMetadata().GetFilterMetadata()[envoynames.AnswerMetadata].GetFields()
	code := int(resp.GetResponseCode().GetValue())
	details := resp.GetResponseCodeDetails()
	switch {
	case details != "" && details != "via_upstream":
		// Envoy answered for the connector (down, slower than its call timeout, an answer too
		// large to read): its local reply carries a JSON-RPC error in a 200, which the answer
		// readers read too, but the connector failed.
		ev.Outcome, ev.UpstreamStatus, ev.Reason = audit.OutcomeUpstream, localReplyStatus(details, code), "connector unavailable: "+details
		ev.ErrorCode = int(answer[envoynames.AnswerErrorCode].GetNumberValue())
	case answer[envoynames.AnswerErrorCode] != nil:
		ev.Outcome, ev.ErrorCode = audit.OutcomeError, int(answer[envoynames.AnswerErrorCode].GetNumberValue())
	case answer[envoynames.AnswerIsError].GetBoolValue():
		ev.Outcome = audit.OutcomeToolError
	case answer[envoynames.AnswerAnswered].GetBoolValue():
		ev.Outcome = audit.OutcomeOK
	case common.GetResponseFlags().GetDownstreamConnectionTermination():
		ev.Outcome = audit.OutcomeAbandoned
	case code < 200 || code > 299:
		ev.Outcome, ev.UpstreamStatus = audit.OutcomeUpstream, code
	case mcpAnswer(mediaType(entry.GetResponse().GetResponseHeaders()["content-type"])):
		// An answer too large to read, or without the call's answer in it: the HTTP outcome, as
		// on every other route (outcomeReader).
		ev.Outcome = audit.OutcomeOK
	default:
		ev.Outcome, ev.Reason = audit.OutcomeUpstream, "the connector's answer is not an MCP message"
	}
}

// localReplyStatus is the status Envoy's reply for the connector had before the bootstrap's
// local_reply_config made it a 200 carrying a JSON-RPC error.
func localReplyStatus(details string, code int) int {
	switch {
	case details == "response_timeout" || details == "upstream_response_timeout" || details == "upstream_per_try_timeout":
		// Envoy 1.40 says response_timeout for a route's timeout.
		return http.StatusGatewayTimeout
	case details == "response_payload_too_large":
		return http.StatusInternalServerError
	case code >= 500:
		return code
	}
	return http.StatusServiceUnavailable
}

// AccessLogs is the gRPC access log service Envoy's edge listener sends direct calls' log
// entries to (envoy.service.accesslog.v3.AccessLogService).
type AccessLogs struct {
	accesslogv3.UnimplementedAccessLogServiceServer
	server *Server
}

// AccessLogs returns the access log service that completes s's direct calls.
func (s *Server) AccessLogs() *AccessLogs { return &AccessLogs{server: s} }

// StreamAccessLogs reads one Envoy's stream of log entries until it ends.
func (a *AccessLogs) StreamAccessLogs(stream accesslogv3.AccessLogService_StreamAccessLogsServer) error {
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
			return stream.SendAndClose(&accesslogv3.StreamAccessLogsResponse{})
		}
		if err != nil {
			return err
		}
		for _, entry := range msg.GetHttpLogs().GetLogEntry() {
			if !parkedOutcome(entry) {
				continue
			}
			if !a.server.outcomes.complete(entry) {
				a.server.log.Warn("extproc: an outcome arrived for no waiting call", zap.String("request_id", entry.GetRequest().GetRequestId()))
			}
		}
	}
}

// parkedOutcome says whether extproc parked the audit event of entry's call (plainRewrite): a
// call it refused was recorded then.
func parkedOutcome(entry *accesslogdatav3.HTTPAccessLogEntry) bool {
	route := entry.GetCommonProperties().GetMetadata().GetFilterMetadata()[envoynames.RouteMetadata]
	return route.GetFields()[envoynames.RouteAwaitsOutcome].GetStringValue() != ""
}

// parkForOutcome hands the call's audit event to the calls waiting for their outcome: extproc
// sees nothing more of a direct call. It stops waiting after c's call timeout, when Envoy has
// ended the call, and outcomeGrace.
func (e *edgeExchange) parkForOutcome(c *connector) {
	e.recorded = true
	audit.TakeOver(&e.event, e.handoff)
	span := tracing.FromContext(e.ctx)
	span.Session(e.sessionID)
	span.Audited(&e.event)
	e.outcomes.park(e.event, e.audit, e.log, c.callTimeout+outcomeGrace)
}

// directFields are the route metadata a direct call adds to its plain-route headers: what
// Envoy's local reply for the connector needs (the JSON-RPC id, raw, and the connector's name)
// and the mark that its audit event waits for the access log.
func directFields(fields map[string]*structpb.Value, rpcID, connector string) {
	fields[envoynames.RouteRPCID] = structpb.NewStringValue(rpcID)
	fields[envoynames.RouteConnector] = structpb.NewStringValue(connector)
	fields[envoynames.RouteAwaitsOutcome] = structpb.NewStringValue("1")
}

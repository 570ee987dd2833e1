package extproc

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/vmcp-dev/vmcp/internal/connsession"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// SessionRecovery replaces connector sessions that their connector forgot (it restarted, say);
// the aggregator implements it. MCP transports: a request in a session the server has ended is
// answered 404, and the server ran nothing, so it may be sent again in a new session. Passing
// the 404 on would end the client's whole vmcp session (go-sdk clients close it), and every
// other connector's tools with it.
type SessionRecovery interface {
	// CurrentConnectorSession is the connector session to use for the one a client's session
	// id carries (sealed): the one that replaced it, or sealed itself. It is called on every
	// routed call in a client session, so it must be cheap.
	CurrentConnectorSession(subject, vs, connector, sealed string) string
	// RetryInNewSession sends body, a routed request the connector answered 404 to in
	// ref.Stale, again in a new session and returns the connector's whole answer.
	RetryInNewSession(ctx context.Context, ref connsession.Ref, protocolVersion string, body []byte) (*connsession.Answer, error)
}

// RetryWait bounds re-opening a connector session and sending a routed call again in it. Envoy
// waits for extproc's answer to the connector's 404 only message_timeout (2 s), so extproc first
// extends that to this (override_message_timeout); the edge ext_proc filter's
// max_message_timeout must allow it. A retried call that needs longer fails with an error.
const RetryWait = 10 * time.Minute

// retryInNewSession answers a routed call's 404 — its connector forgot the session — with the
// connector's answer to the same call sent again in a new session. ext_proc cannot send Envoy's
// request again, so the aggregator sends it, through the egress listener like its own requests,
// and the answer reaches the client as an immediate response, after going through what every
// routed answer goes through (outcome, id rewriting). This costs nothing until a 404 comes; an
// Envoy retry policy instead would need a filter on every attempt to swap the session id in, an
// ext_proc stream per routed call.
func (e *edgeExchange) retryInNewSession() *extprocv3.ProcessingResponse {
	e.retried = true
	if e.send != nil {
		if err := e.send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(RetryWait)}); err != nil {
			return e.failRoutedCall(e.sessionLost())
		}
	}
	ctx, cancel := context.WithTimeout(e.ctx, RetryWait-time.Second)
	defer cancel()
	ans, err := e.recovery.RetryInNewSession(ctx, e.stale, e.connVersion, e.forwarded)
	if err != nil {
		e.log.Warn("extproc: connector forgot the session and no new one answered", zap.String("vs", e.vs.name), zap.String("connector", e.routed.name), zap.Error(err))
		return e.failRoutedCall(e.sessionLost())
	}
	if ans.Status == http.StatusNotFound {
		// Refused in a new session too: only this call fails; the client's session stays.
		e.setHTTPOutcome(strconv.Itoa(ans.Status))
		return e.failRoutedCall(e.sessionLost())
	}
	hresp := e.responseHeaders(answerHeaders(ans))
	if hresp.GetImmediateResponse() != nil {
		return hresp
	}
	out := http.Header{}
	for _, k := range []string{"content-type", "cache-control"} {
		if v := ans.Header.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if m := hresp.GetResponseHeaders().GetResponse().GetHeaderMutation(); m != nil {
		for _, k := range m.GetRemoveHeaders() {
			out.Del(k)
		}
		for _, h := range m.GetSetHeaders() {
			out.Set(h.GetHeader().GetKey(), string(h.GetHeader().GetRawValue()))
		}
	}
	body := ans.Body
	if e.outcome != nil || e.rewriter != nil {
		m := e.responseBody(&extprocv3.HttpBody{Body: body, EndOfStream: true}).GetResponseBody().GetResponse().GetBodyMutation()
		switch {
		case m.GetClearBody():
			body = nil
		case m.GetBody() != nil:
			body = m.GetBody()
		}
	}
	e.record()
	set := make([]*corev3.HeaderValueOption, 0, len(out))
	for k := range out {
		if k = strings.ToLower(k); k != "content-length" {
			set = append(set, setHeader(k, out.Get(k)))
		}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(ans.Status)},
			Headers: &extprocv3.HeaderMutation{SetHeaders: set},
			Body:    body,
			Details: "vmcp_connector_session_replaced",
		},
	}}
}

func (e *edgeExchange) sessionLost() *jsonrpc.Error {
	return jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q forgot the session (it restarted?) and could not be reached in a new one", e.routed.name)
}

// answerHeaders is a retried answer's headers as Envoy would have sent them to extproc.
func answerHeaders(ans *connsession.Answer) *extprocv3.HttpHeaders {
	hs := []*corev3.HeaderValue{{Key: ":status", RawValue: []byte(strconv.Itoa(ans.Status))}}
	for k, vs := range ans.Header {
		if len(vs) > 0 {
			hs = append(hs, &corev3.HeaderValue{Key: strings.ToLower(k), RawValue: []byte(vs[0])})
		}
	}
	return &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: len(ans.Body) == 0}
}

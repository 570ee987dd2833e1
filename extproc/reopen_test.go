package extproc

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/connsession"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// replacingConnector plays the aggregator's side: it knows a replacement for one connector
// session and answers a call sent again with answer.
type replacingConnector struct {
	answer  *connsession.Answer
	ref     connsession.Ref
	body    []byte
	retries int
}

func (r *replacingConnector) CurrentConnectorSession(subject, vs, connector, sealed string) string {
	if subject == "alice" && vs == "demo" && connector == "notes" && sealed == "up-1" {
		return "up-2"
	}
	return sealed
}

func (r *replacingConnector) RetryInNewSession(_ context.Context, ref connsession.Ref, _ string, body []byte) (*connsession.Answer, error) {
	r.retries++
	r.ref, r.body = ref, body
	return r.answer, nil
}

func responseHeaders(status string, extra ...string) *extprocv3.ProcessingRequest {
	hs := []*corev3.HeaderValue{{Key: ":status", RawValue: []byte(status)}}
	for i := 0; i+1 < len(extra); i += 2 {
		hs = append(hs, &corev3.HeaderValue{Key: extra[i], RawValue: []byte(extra[i+1])})
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}}}}
}

// A routed call goes in the connector session that replaced the one the client's session id
// carries; when the connector answers 404 there, the call is sent again in a new session and the
// client gets that answer, under its own vmcp session id, with Envoy told to wait for it.
func TestACallTheConnectorAnswers404ToIsSentAgainInANewSession(t *testing.T) {
	srv, codec := newTestServer(t)
	rec := &replacingConnector{answer: &connsession.Answer{Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/json"}, "Mcp-Session-Id": {"up-3"}},
		Body:   []byte(`{"jsonrpc":"2.0","id":7,"result":{"content":[],"structuredContent":{"id":"note-1"}}}`)}}
	srv.recovery = rec
	sid, _ := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", ProtocolVersion: "2025-11-25", Upstream: map[string]string{"notes": "up-1"}})

	e := startExchange(srv, sid, nil)
	var sent []*extprocv3.ProcessingResponse
	e.send = func(r *extprocv3.ProcessingResponse) error { sent = append(sent, r); return nil }
	resp := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
		Body: []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"title":"a","body":"b"}}}`), EndOfStream: true}}})
	if got := setHeaders(resp)["mcp-session-id"]; got != "up-2" {
		t.Fatalf("routed in connector session %q, want its replacement up-2", got)
	}

	answer := e.handle(responseHeaders("404", "content-type", "text/plain"))
	ir := answer.GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != http.StatusOK || !strings.Contains(string(ir.GetBody()), `"note-1"`) {
		t.Fatalf("want the answer in the new session, got %v", answer)
	}
	hs := map[string]string{}
	for _, h := range ir.GetHeaders().GetSetHeaders() {
		hs[h.GetHeader().GetKey()] = string(h.GetHeader().GetRawValue())
	}
	if hs["mcp-session-id"] != sid || hs["content-type"] != "application/json" {
		t.Errorf("answer headers %v: want the client's own session id and the connector's content type", hs)
	}
	if rec.ref.Sealed != "up-1" || rec.ref.Stale != "up-2" || rec.ref.Subject != "alice" || rec.ref.Connector != "notes" || rec.ref.Version != "2025-11-25" {
		t.Errorf("replacement asked for %+v", rec.ref)
	}
	var forwarded struct{ Params struct{ Name string } }
	if json.Unmarshal(rec.body, &forwarded) != nil || forwarded.Params.Name != "add_note" {
		t.Errorf("sent again: %s, want the call as forwarded", rec.body)
	}
	if len(sent) != 1 || sent[0].GetOverrideMessageTimeout().AsDuration() != RetryWait {
		t.Errorf("Envoy was not told to wait for the call sent again: %v", sent)
	}
	if e.event.Outcome != "ok" {
		t.Errorf("audited outcome %q", e.event.Outcome)
	}
}

// A connector that answers 404 in the new session too fails only the call: a JSON-RPC error in
// a 200, never a 404 that would end the client's session.
func TestA404InTheNewSessionFailsOnlyTheCall(t *testing.T) {
	srv, codec := newTestServer(t)
	rec := &replacingConnector{answer: &connsession.Answer{Status: http.StatusNotFound, Header: http.Header{}, Body: []byte("session not found\n")}}
	srv.recovery = rec
	sid, _ := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", Upstream: map[string]string{"notes": "up-1"}})
	e := startExchange(srv, sid, nil)
	e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
		Body: []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__list_notes","arguments":{}}}`), EndOfStream: true}}})
	ir := e.handle(responseHeaders("404")).GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != http.StatusOK || !strings.Contains(string(ir.GetBody()), `connector \"notes\" forgot the session`) {
		t.Fatalf("want a JSON-RPC error for the call, got %v", ir)
	}
	if rec.retries != 1 {
		t.Errorf("sent again %d times, want once", rec.retries)
	}
}

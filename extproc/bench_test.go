package extproc

import (
	"context"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/cputime"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// BenchmarkToolCall is extproc's whole share of one routed tools/call, as Envoy drives it on the
// edge listener (without gRPC): request headers, the buffered request body (parse, policy,
// session, rewrite), the connector's response headers and its JSON answer streamed back.
func BenchmarkToolCall(b *testing.B) {
	srv, state, call := benchToolCall(b)
	ctx := context.Background()
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		call(b, srv.edgeExchange(ctx, state))
	}
}

// benchToolCall is a test server and one routed tools/call on it: call plays Envoy's four
// messages to e and checks the call was rewritten and audited.
func benchToolCall(b *testing.B) (*Server, *rewrites, func(*testing.B, *edgeExchange)) {
	srv, codec := newTestServer(b)
	srv.log = zap.NewNop()
	sid, err := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", ProtocolVersion: "2025-11-25",
		Upstream: map[string]string{"notes": "up-notes-1", "weather": "up-weather-1"}})
	if err != nil {
		b.Fatal(err)
	}
	reqHeaders := &extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":path", RawValue: []byte("/v/demo/mcp")}, {Key: ":method", RawValue: []byte("POST")},
			{Key: "mcp-session-id", RawValue: []byte(sid)}, {Key: "x-request-id", RawValue: []byte("bench-1")},
			{Key: "content-type", RawValue: []byte("application/json")},
			signedAs(identity.Identity{Subject: "alice", Email: "alice@example.com", VirtualServer: "demo", Groups: []string{"eng"}}),
		}}}},
	}
	reqBody := benchCallBody(nil)
	respHeaders := benchAnswerHeaders(&corev3.HeaderValue{Key: "mcp-session-id", RawValue: []byte("up-notes-1")})
	return srv, srv.state.Load(), func(b *testing.B, e *edgeExchange) {
		e.handle(reqHeaders)
		if resp := e.handle(reqBody); resp.GetRequestBody().GetResponse().GetBodyMutation() == nil {
			b.Fatalf("tools/call was not rewritten: %v", resp)
		}
		e.handle(respHeaders)
		e.handle(benchAnswer)
		e.done()
		if !e.recorded {
			b.Fatal("the call was not audited")
		}
	}
}

// benchCallBody is the benchmarks' tools/call body, with the metadata Envoy forwards (md).
func benchCallBody(md *corev3.Metadata) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{MetadataContext: md, Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{EndOfStream: true,
		Body: []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"title":"Quarterly report","body":"Numbers are up."}}}`)}}}
}

// benchAnswerHeaders are the headers of the connector's JSON answer, and extra.
func benchAnswerHeaders(extra ...*corev3.HeaderValue) *extprocv3.ProcessingRequest {
	hs := append([]*corev3.HeaderValue{{Key: ":status", RawValue: []byte("200")}, {Key: "content-type", RawValue: []byte("application/json")}}, extra...)
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}}}}
}

// benchAnswer is the connector's answer to the benchmarks' tools/call.
var benchAnswer = &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{EndOfStream: true,
	Body: []byte(`{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"note 17 saved"}],"isError":false}}`)}}}

// BenchmarkToolCallPlain is extproc's share of a routed tools/call on a connector's plain route:
// the body alone, with the headers authz passed on as metadata, then the answer.
func BenchmarkToolCallPlain(b *testing.B) {
	srv, _ := newTestServer(b)
	srv.log = zap.NewNop()
	state := srv.state.Load()
	md := plainMetadata("notes", map[string]string{"mcp-protocol-version": "2025-11-25", "content-type": "application/json", "x-request-id": "bench-1"})
	reqBody := benchCallBody(md)
	respHeaders := benchAnswerHeaders()
	ctx := context.Background()
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		e := srv.edgeExchange(ctx, state)
		if resp := e.handle(reqBody); resp.GetRequestBody().GetResponse().GetBodyMutation() == nil {
			b.Fatalf("tools/call was not rewritten: %v", resp)
		}
		e.handle(respHeaders)
		e.handle(benchAnswer)
		e.done()
		if !e.recorded {
			b.Fatal("the call was not audited")
		}
	}
}

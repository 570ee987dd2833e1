package extproc

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/cputime"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/tracing"
	"github.com/vmcp-dev/vmcp/internal/tracing/tracingtest"
)

// BenchmarkToolCallTraced is BenchmarkToolCall with tracing on and the call sampled: the Process
// span as Process starts it (context from Envoy's metadata) and the audit event's attributes on
// it, on top of extproc's share of a routed tools/call.
func BenchmarkToolCallTraced(b *testing.B) {
	srv, codec := newTestServer(b)
	srv.log = zap.NewNop()
	st := srv.state.Load()
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
	reqBody := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{EndOfStream: true,
		Body: []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"title":"Quarterly report","body":"Numbers are up."}}}`)}}}
	respHeaders := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: ":status", RawValue: []byte("200")}, {Key: "content-type", RawValue: []byte("application/json")},
		{Key: "mcp-session-id", RawValue: []byte("up-notes-1")},
	}}}}}
	respBody := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{EndOfStream: true,
		Body: []byte(`{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"note 17 saved"}],"isError":false}}`)}}}
	tracingtest.On(b)
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		ctx, span := tracing.StartGRPC(tracingtest.EnvoyCall(), "envoy.service.ext_proc.v3.ExternalProcessor", "Process", nil)
		e := srv.edgeExchange(ctx, st)
		e.handle(reqHeaders)
		if resp := e.handle(reqBody); resp.GetRequestBody().GetResponse().GetBodyMutation() == nil {
			b.Fatalf("tools/call was not rewritten: %v", resp)
		}
		e.handle(respHeaders)
		e.handle(respBody)
		e.done()
		span.End()
		if !e.recorded {
			b.Fatal("the call was not audited")
		}
	}
}

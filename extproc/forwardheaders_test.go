package extproc

import (
	"context"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/identity"
)

// clientSent is what a browser-based or careless client sends along with an MCP request.
var clientSent = []*corev3.HeaderValue{
	{Key: "cookie", RawValue: []byte("vmcp_console=secret-session")},
	{Key: "cookie", RawValue: []byte("other=1")},
	{Key: "proxy-authorization", RawValue: []byte("Basic c2VjcmV0")},
	{Key: "origin", RawValue: []byte("http://localhost:3000")},
	{Key: "referer", RawValue: []byte("http://localhost:3000/app")},
	{Key: "x-forwarded-for", RawValue: []byte("203.0.113.9")},
	{Key: "accept-encoding", RawValue: []byte("gzip")},
	{Key: "x-some-client-header", RawValue: []byte("1")},
	{Key: "content-type", RawValue: []byte("application/json")},
	{Key: "accept", RawValue: []byte("application/json, text/event-stream")},
	{Key: "mcp-protocol-version", RawValue: []byte("2025-11-25")},
	{Key: "traceparent", RawValue: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")},
	{Key: "tracestate", RawValue: []byte("v=1")},
	{Key: "user-agent", RawValue: []byte("claude-code/1")},
	{Key: "x-request-id", RawValue: []byte("req-1")},
}

var (
	mustNotForward = []string{"cookie", "proxy-authorization", "origin", "referer", "x-forwarded-for", "accept-encoding", "x-some-client-header"}
	mustForward    = []string{"content-type", "accept", "mcp-protocol-version", "traceparent", "tracestate", "user-agent", "x-request-id", "content-length", "authorization", "x-vmcp-connector"}
)

func checkForwarded(t *testing.T, mut *extprocv3.HeaderMutation) {
	t.Helper()
	removed := mut.GetRemoveHeaders()
	for _, k := range mustNotForward {
		if !slices.Contains(removed, k) {
			t.Errorf("%s reaches the connector (removed: %v)", k, removed)
		}
	}
	for _, k := range mustForward {
		if slices.Contains(removed, k) {
			t.Errorf("%s is removed, but the connector needs it (removed: %v)", k, removed)
		}
	}
	if n := len(removed); n != len(slices.Compact(slices.Sorted(slices.Values(removed)))) {
		t.Errorf("removed names repeat: %v", removed)
	}
}

func TestOnlyAllowListedClientHeadersReachARoutedConnector(t *testing.T) {
	srv, _ := newTestServer(t)
	e := srv.edgeExchange(context.Background(), srv.state.Load())
	hdrs := append([]*corev3.HeaderValue{{Key: ":path", RawValue: []byte("/v/demo/mcp")}, {Key: ":method", RawValue: []byte("POST")},
		signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo"})}, clientSent...)
	e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hdrs}}}})
	resp := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
		Body: []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__add_note","arguments":{}}}`), EndOfStream: true}}})
	mut := resp.GetRequestBody().GetResponse().GetHeaderMutation()
	if setHeaders(resp)["x-vmcp-connector"] != "notes" {
		t.Fatalf("the call was not routed: %v", resp)
	}
	checkForwarded(t, mut)
	if !slices.Contains(mut.GetRemoveHeaders(), "mcp-session-id") {
		t.Errorf("a client without a session must not pass a session id on: %v", mut.GetRemoveHeaders())
	}
}

func TestOnlyAllowListedHeadersReachAConnectorThroughEgress(t *testing.T) {
	srv, _ := newTestServer(t)
	e := &egressExchange{state: srv.state.Load(), signer: testSigner, audit: &events{}, ctx: context.Background(), log: srv.log}
	hdrs := append([]*corev3.HeaderValue{{Key: ":path", RawValue: []byte("/mcp")}, {Key: "x-vmcp-connector", RawValue: []byte("notes")},
		signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo"})}, clientSent...)
	resp := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		Headers: &corev3.HeaderMap{Headers: hdrs},
	}}})
	checkForwarded(t, resp.GetRequestHeaders().GetResponse().GetHeaderMutation())
}

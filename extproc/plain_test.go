package extproc

import (
	"context"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// plainBody plays Envoy on a connector's plain route: one body message, with the request
// headers authz passed on as its metadata.
func plainBody(srv *Server, hint string, hs map[string]string, body string) *extprocv3.ProcessingResponse {
	e := srv.edgeExchange(context.Background(), srv.state.Load())
	return e.handle(&extprocv3.ProcessingRequest{
		MetadataContext: plainMetadata(hint, hs),
		Request:         &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}},
	})
}

// plainMetadata is what authz gives a request it hints to connector hint, as Envoy forwards it:
// the headers hs of a request to /v/demo/mcp from alice.
func plainMetadata(hint string, hs map[string]string) *corev3.Metadata {
	list := []string{":path", "/v/demo/mcp", ":method", "POST", headers.RouteHint, hint,
		headers.Identity, string(signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo"}).GetRawValue())}
	for k, v := range hs {
		list = append(list, k, v)
	}
	md := &structpb.Struct{Fields: map[string]*structpb.Value{
		headers.RequestHeadersMetadata: structpb.NewStringValue(headers.EncodeList(list)),
	}}
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{envoynames.FilterExtAuthz: md}}
}

func routeMetadata(resp *extprocv3.ProcessingResponse) map[string]string {
	out := map[string]string{}
	for k, v := range resp.GetDynamicMetadata().GetFields()[envoynames.RouteMetadata].GetStructValue().GetFields() {
		out[k] = v.GetStringValue()
	}
	return out
}

// On a plain route the connector's headers come from extproc's metadata, which the route sets:
// its credential and session, the client's revision, the body's new length. The client's own
// session id, which names vmcp's session, is not among them.
func TestAPlainRouteGetsItsHeadersAsMetadata(t *testing.T) {
	srv, codec := newTestServer(t)
	sid, err := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", ProtocolVersion: "2025-11-25", Upstream: map[string]string{"notes": "up-notes-1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp := plainBody(srv, "notes", map[string]string{"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"},
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__add_note","arguments":{}}}`)
	body := resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody()
	if !strings.Contains(string(body), `"name":"add_note"`) {
		t.Fatalf("body not rewritten: %v", resp)
	}
	if m := resp.GetRequestBody().GetResponse().GetHeaderMutation(); m != nil {
		t.Errorf("header mutation %v on a plain route, where Envoy drops it", m)
	}
	got := routeMetadata(resp)
	want := map[string]string{
		"authorization":        "Bearer " + testToken,
		"mcp-session-id":       "up-notes-1",
		"mcp-protocol-version": "2025-11-25",
		"content-length":       itoa(len(body)),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metadata %v, want exactly %v", got, want)
	}
}

// The hint chose the route, not the connector: a call extproc places elsewhere, or leaves for
// the aggregator, is refused rather than sent to the hinted connector.
func TestAPlainRouteRefusesACallForAnotherConnector(t *testing.T) {
	srv, _ := newTestServer(t)
	for name, body := range map[string]string{
		"another connector": `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather__get_forecast","arguments":{}}}`,
		"the aggregator":    `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
	} {
		resp := plainBody(srv, "notes", map[string]string{"mcp-protocol-version": "2025-11-25"}, body)
		if !strings.Contains(string(resp.GetImmediateResponse().GetBody()), "routed inconsistently") {
			t.Errorf("%s: %v, want a refusal", name, resp)
		}
	}
}

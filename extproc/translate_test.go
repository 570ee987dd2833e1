package extproc

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// keptSessions answers every sessionless call with one kept connector session of revision
// version, as the aggregator does for a connector of the 2025 revisions.
type keptSessions struct{ version string }

func (k keptSessions) ConnectorSession(context.Context, string, string, string, string, bool) (string, string, error) {
	return "kept-1", k.version, nil
}
func (keptSessions) ForgetConnectorSession(string, string, string) {}

// routedAnswer plays Envoy for one routed request with extra request headers, then a JSON answer
// from the connector in two chunks, and returns the response-headers reply and the body replies.
func routedAnswer(t *testing.T, e *edgeExchange, hdrs []*corev3.HeaderValue, body, answer string) (*extprocv3.ProcessingResponse, []*extprocv3.ProcessingResponse) {
	t.Helper()
	hdrs = append(hdrs, &corev3.HeaderValue{Key: ":path", RawValue: []byte("/v/demo/mcp")}, &corev3.HeaderValue{Key: ":method", RawValue: []byte("POST")},
		signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo"}))
	e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hdrs}}}})
	routed := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}})
	if routed.GetRequestBody() == nil || e.routed == nil {
		t.Fatalf("not routed: %v", routed)
	}
	// The connector's answer to the id the request went on with.
	var sent struct {
		ID json.RawMessage `json:"id"`
	}
	json.Unmarshal(routed.GetRequestBody().GetResponse().GetBodyMutation().GetBody(), &sent)
	answer = `{"jsonrpc":"2.0","id":` + string(sent.ID) + `,` + answer
	headers := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: ":status", RawValue: []byte("200")}, {Key: "content-type", RawValue: []byte("application/json")},
		{Key: "content-length", RawValue: []byte(itoa(len(answer)))},
	}}}}})
	half := len(answer) / 2
	var bodies []*extprocv3.ProcessingResponse
	for i, chunk := range []string{answer[:half], answer[half:]} {
		bodies = append(bodies, e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte(chunk), EndOfStream: i == 1}}}))
	}
	return headers, bodies
}

func TestA2026ClientsAnswerFromA2025ConnectorIsTranslatedInExtproc(t *testing.T) {
	srv, _ := newTestServer(t)
	srv.connector = keptSessions{version: "2025-11-25"}
	e := srv.edgeExchange(context.Background(), srv.state.Load())
	hdrs := []*corev3.HeaderValue{{Key: "mcp-protocol-version", RawValue: []byte("2026-07-28")},
		{Key: "mcp-method", RawValue: []byte("tools/call")}, {Key: "mcp-name", RawValue: []byte("notes__add_note")}}
	headers, bodies := routedAnswer(t, e, hdrs,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"notes__add_note","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		`"result":{"content":[{"type":"text","text":"ok"}]}}`)

	// Envoy: a replaced body in STREAMED mode must not keep the connector's content-length.
	if m := headers.GetModeOverride(); m.GetResponseBodyMode() != extprocfilterv3.ProcessingMode_STREAMED {
		t.Errorf("body mode %v, want STREAMED", m.GetResponseBodyMode())
	}
	if rm := headers.GetResponseHeaders().GetResponse().GetHeaderMutation().GetRemoveHeaders(); !slices.Contains(rm, "content-length") {
		t.Errorf("content-length kept: removes %v", rm)
	}
	if b := bodies[0].GetResponseBody().GetResponse().GetBodyMutation(); !b.GetClearBody() {
		t.Errorf("the first chunk went on before the answer was whole: %v", b)
	}
	out := bodies[1].GetResponseBody().GetResponse().GetBodyMutation().GetBody()
	var m struct {
		ID     json.RawMessage `json:"id"`
		Result map[string]any  `json:"result"`
	}
	if err := json.Unmarshal(out, &m); err != nil || string(m.ID) != "5" || m.Result["resultType"] != "complete" {
		t.Errorf("client got %s, want its id 5 and resultType complete", out)
	}
}

func TestAnAnswerInTheClientsOwnRevisionPassesUntouched(t *testing.T) {
	srv, codec := newTestServer(t)
	sid, err := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", ProtocolVersion: "2025-11-25", Upstream: map[string]string{"notes": "up-1"}})
	if err != nil {
		t.Fatal(err)
	}
	e := srv.edgeExchange(context.Background(), srv.state.Load())
	hdrs := []*corev3.HeaderValue{{Key: "mcp-protocol-version", RawValue: []byte("2025-11-25")}, {Key: "mcp-session-id", RawValue: []byte(sid)}}
	_, bodies := routedAnswer(t, e, hdrs, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"notes__add_note","arguments":{}}}`,
		`"result":{"content":[]}}`)
	if e.rewriter != nil {
		t.Error("a translator for a client and connector of one revision")
	}
	for _, b := range bodies {
		if mut := b.GetResponseBody().GetResponse().GetBodyMutation(); mut != nil {
			t.Errorf("the answer was changed: %v", mut)
		}
	}
}

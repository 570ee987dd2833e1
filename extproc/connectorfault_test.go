package extproc

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// routedCall plays Envoy through a tools/call routed to notes, up to the connector's response
// headers with status and content type, and returns the exchange and the answer to them.
func routedCall(t *testing.T, status, contentType string) (*edgeExchange, *extprocv3.ProcessingResponse) {
	t.Helper()
	srv, _ := newTestServer(t)
	e := startExchange(srv, "", nil)
	resp := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
		Body: []byte(`{"jsonrpc":"2.0","id":"call-9","method":"tools/call","params":{"name":"notes__add_note"}}`), EndOfStream: true,
	}}})
	if e.routed == nil {
		t.Fatalf("the call was not routed: %v", resp)
	}
	hdrs := []*corev3.HeaderValue{{Key: ":status", RawValue: []byte(status)}, {Key: "content-type", RawValue: []byte(contentType)}, {Key: "content-length", RawValue: []byte("38")}}
	return e, e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hdrs}}}})
}

func TestAnswersNoClientCanReadBecomeAJSONRPCErrorForThatCall(t *testing.T) {
	tests := []struct {
		name, status, contentType, want string
	}{
		{"Envoy's reply for a connector that is down", "503", "text/plain", `connector \"notes\" is unavailable (HTTP 503)`},
		{"Envoy's reply for a call over its timeout", "504", "text/plain", `connector \"notes\" did not answer within its call timeout`},
		{"an HTML page with 200", "200", "text/html", `connector \"notes\" answered \"text/html\", not an MCP message`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, resp := routedCall(t, tc.status, tc.contentType)
			ir := resp.GetImmediateResponse()
			if ir == nil || ir.Status.Code != 200 {
				t.Fatalf("want an immediate HTTP 200 JSON-RPC error, got %v", resp)
			}
			if code, msg := rpcCode(t, ir.Body); code != -32603 || !strings.Contains(string(ir.Body), tc.want) || !strings.Contains(string(ir.Body), `"id":"call-9"`) {
				t.Errorf("body = %s (code %d %q), want -32603 saying %s for id call-9", ir.Body, code, msg, tc.want)
			}
			if e.event.Outcome != audit.OutcomeUpstream || !e.recorded {
				t.Errorf("audit outcome = %q (recorded %v), want upstream", e.event.Outcome, e.recorded)
			}
		})
	}
}

func TestAnswersThatCanStandPassUnchanged(t *testing.T) {
	for _, tc := range []struct{ status, contentType string }{
		{"200", "application/json"}, {"200", "text/event-stream"}, {"404", "text/plain"}, {"500", "application/json"},
	} {
		if _, resp := routedCall(t, tc.status, tc.contentType); resp.GetImmediateResponse() != nil {
			t.Errorf("%s %s was replaced: %v", tc.status, tc.contentType, resp)
		}
	}
}

func TestAGarbledJSONAnswerIsReplacedAndTheRestDropped(t *testing.T) {
	e, resp := routedCall(t, "200", "application/json")
	if removed := resp.GetResponseHeaders().GetResponse().GetHeaderMutation().GetRemoveHeaders(); !strings.Contains(strings.Join(removed, ","), "content-length") {
		t.Errorf("a JSON answer keeps its content-length (removed %v): a replaced body would not match it", removed)
	}
	body := func(chunk string, end bool) *extprocv3.CommonResponse {
		return e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte(chunk), EndOfStream: end}}}).GetResponseBody().GetResponse()
	}
	if c := body("  \n", false); c.GetBodyMutation() != nil {
		t.Errorf("leading white space was judged: %v", c)
	}
	first := body(`}{"jsonrpc":"2.0", garbage`, false)
	if got := string(first.GetBodyMutation().GetBody()); !strings.Contains(got, `"code":-32603`) || !strings.Contains(got, "not a JSON-RPC message") {
		t.Errorf("the garbled first chunk became %q, want a JSON-RPC error", got)
	}
	if rest := body(`more garbage`, true); !rest.GetBodyMutation().GetClearBody() {
		t.Errorf("a later chunk of the garbled answer was let through: %v", rest)
	}
	if e.event.Outcome != audit.OutcomeUpstream {
		t.Errorf("audit outcome = %q, want upstream", e.event.Outcome)
	}
}

func TestAWellFormedJSONAnswerIsNotTouched(t *testing.T) {
	e, _ := routedCall(t, "200", "application/json")
	c := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{
		Body: []byte(`{"jsonrpc":"2.0","id":"call-9","result":{"content":[]}}`), EndOfStream: true,
	}}}).GetResponseBody().GetResponse()
	if c.GetBodyMutation() != nil {
		t.Errorf("a good answer was changed: %v", c)
	}
	if e.event.Outcome != audit.OutcomeOK {
		t.Errorf("audit outcome = %q, want ok", e.event.Outcome)
	}
}

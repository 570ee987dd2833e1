package extproc

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

func TestOutcomeReaderFindsTheAnswerInJSONAndSSE(t *testing.T) {
	tests := []struct {
		name   string
		sse    bool
		chunks []string
		want   string
		code   int
	}{
		{"a JSON result", false, []string{`{"jsonrpc":"2.0","id":7,"result":{"content":[]}}`}, audit.OutcomeOK, 0},
		{"a JSON tool error", false, []string{`{"jsonrpc":"2.0","id":7,`, `"result":{"isError":true,"content":[]}}`}, audit.OutcomeToolError, 0},
		{"a JSON-RPC error", false, []string{`{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"bad"}}`}, audit.OutcomeError, -32602},
		{"an SSE answer after a notification, split mid-event", true, []string{
			"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n",
			"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"res",
			"ult\":{\"isError\":true}}\n\n",
		}, audit.OutcomeToolError, 0},
		{"an SSE answer with CRLF line ends", true, []string{"data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\r\n\r\n"}, audit.OutcomeOK, 0},
		{"an answer to another request is not ours", true, []string{"data: {\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":1,\"message\":\"x\"}}\n\n"}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &outcomeReader{id: "7", sse: tc.sse}
			for _, c := range tc.chunks {
				o.feed([]byte(c))
			}
			o.finish()
			if o.result != tc.want || o.code != tc.code {
				t.Errorf("outcome = %q %d, want %q %d", o.result, o.code, tc.want, tc.code)
			}
		})
	}
}

// Every request extproc follows on a virtual server ends as exactly one audit event with one of
// the documented outcomes, also when no answer ever comes.
func TestRequestsThatNeverGetAnAnswerAreAuditedWithADocumentedOutcome(t *testing.T) {
	statusHeaders := func(status string) *extprocv3.ProcessingRequest {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
			Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte(status)}}}}}}
	}
	body := func(b string) *extprocv3.ProcessingRequest {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(b), EndOfStream: true}}}
	}
	for _, tc := range []struct {
		name    string
		steps   []*extprocv3.ProcessingRequest
		outcome string
		code    int
		reason  string
	}{
		{"a routed call the client abandoned before the answer", []*extprocv3.ProcessingRequest{body(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note","arguments":{}}}`)}, audit.OutcomeAbandoned, 0, ""},
		{"a body Envoy refused as over its buffer limit", []*extprocv3.ProcessingRequest{statusHeaders("413")}, audit.OutcomeError, -32600, "413"},
		{"a body that did not arrive in time", []*extprocv3.ProcessingRequest{statusHeaders("408")}, audit.OutcomeError, 0, "408"},
		{"a request the client left before its body", nil, audit.OutcomeAbandoned, 0, "before its body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newTestServer(t)
			rec := &events{}
			srv.audit = rec
			e := startExchange(srv, "", nil)
			for _, step := range tc.steps {
				e.handle(step)
			}
			e.done()
			e.done()
			if len(rec.all) != 1 {
				t.Fatalf("%d events, want 1: %+v", len(rec.all), rec.all)
			}
			if ev := rec.all[0]; ev.Outcome != tc.outcome || ev.ErrorCode != tc.code || !strings.Contains(ev.Reason, tc.reason) || ev.Subject != "alice" || ev.Method == "" {
				t.Errorf("audited %+v, want outcome %q, code %d, reason with %q", ev, tc.outcome, tc.code, tc.reason)
			}
		})
	}
}

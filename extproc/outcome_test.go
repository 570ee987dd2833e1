package extproc

import (
	"testing"

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

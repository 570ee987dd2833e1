package extproc

import (
	"testing"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// Mcp-Method and Mcp-Name, when a client sends them, must agree with the body on every revision:
// authz gives Mcp-Method to the access policy as input.mcp.method without seeing the body.
// 2026-07-28 requests must send them; older ones may leave them out.
func TestMirroredHeadersMustAgreeWithTheBodyOnEveryRevision(t *testing.T) {
	call := &jsonrpc.Message{JSONRPC: "2.0", ID: []byte("1"), Method: "tools/call", Params: []byte(`{"name":"notes__add_note"}`)}
	note := &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/initialized"}
	tests := []struct {
		name string
		m    mirrored
		msg  *jsonrpc.Message
		ok   bool
	}{
		{"2025-11-25 without headers", mirrored{version: "2025-11-25"}, call, true},
		{"2025-11-25 with matching headers", mirrored{version: "2025-11-25", method: "tools/call", hasMethod: true, name: "notes__add_note", hasName: true}, call, true},
		{"2025-11-25 claiming tools/list", mirrored{version: "2025-11-25", method: "tools/list", hasMethod: true}, call, false},
		{"2025-06-18 claiming tools/list", mirrored{version: "2025-06-18", method: "tools/list", hasMethod: true}, call, false},
		{"no version, claiming ping", mirrored{method: "ping", hasMethod: true}, call, false},
		{"2025-11-25 with an empty Mcp-Method", mirrored{version: "2025-11-25", hasMethod: true}, call, false},
		{"2025-11-25 naming another tool", mirrored{version: "2025-11-25", name: "weather__get_forecast", hasName: true}, call, false},
		{"2025-11-25 notification claiming tools/call", mirrored{version: "2025-11-25", method: "tools/call", hasMethod: true}, note, false},
		{"2026-07-28 notification claiming tools/call", mirrored{version: "2026-07-28", method: "tools/call", hasMethod: true}, note, false},
		{"2026-07-28 without Mcp-Method", mirrored{version: "2026-07-28", name: "notes__add_note", hasName: true}, call, false},
		{"2026-07-28 with matching headers", mirrored{version: "2026-07-28", method: "tools/call", hasMethod: true, name: "notes__add_note", hasName: true}, call, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.check(tc.msg, "notes__add_note", tc.msg.Method == "tools/call")
			if (err == nil) != tc.ok || err != nil && err.Code != codeHeaderMismatch {
				t.Errorf("check = %v, want ok %v (else %d)", err, tc.ok, codeHeaderMismatch)
			}
		})
	}
}

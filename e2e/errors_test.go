package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Errors name what the client sent, and vmcp's own refusals are JSON-RPC error objects an SDK
// can show, with the WWW-Authenticate challenge kept.
func TestErrorsNameWhatTheClientSent(t *testing.T) {
	s := startSystem(t)

	type rpcError struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    struct {
				Error            string `json:"error"`
				ErrorDescription string `json:"error_description"`
			} `json:"data"`
		} `json:"error"`
	}
	for _, tc := range []struct {
		name, authorization, message, description string
	}{
		{"no token", "", "authorization required", "authorization required"},
		{"a malformed token", "Bearer not-a-jwt", "invalid token: token is malformed (not a JWT)", "token is malformed (not a JWT)"},
		{"a JWT from nobody vmcp trusts", "Bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9.c2ln",
			"invalid token: token issuer is not trusted", "token issuer is not trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := postRaw(t, s.url("demo"), tc.authorization)
			if code != http.StatusUnauthorized || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("HTTP %d %s: %s", code, hdr.Get("Content-Type"), body)
			}
			var e rpcError
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not a JSON-RPC error: %s", body)
			}
			if e.JSONRPC != "2.0" || string(e.ID) != "null" || e.Error.Code != -32004 || e.Error.Message != tc.message ||
				e.Error.Data.Error != "invalid_token" || e.Error.Data.ErrorDescription != tc.message {
				t.Errorf("body %s", body)
			}
			challenge := hdr.Get("WWW-Authenticate")
			if !strings.Contains(challenge, `resource_metadata="`+s.edge+`/.well-known/oauth-protected-resource/v/demo/mcp"`) {
				t.Errorf("challenge %q", challenge)
			}
			if tc.authorization != "" && !strings.Contains(challenge, `error_description="`+tc.description+`"`) {
				t.Errorf("challenge %q lacks the description %q", challenge, tc.description)
			}
		})
	}

	t.Run("an unknown tool behind a connector's prefix", func(t *testing.T) {
		cs := connect(t, s.url("demo"), s.token("alice", "demo"))
		_, err := tryCallTool(cs, "notes__nope", map[string]any{})
		if err == nil || !strings.Contains(err.Error(), `unknown tool "notes__nope"`) || strings.Contains(err.Error(), `"nope"`) {
			t.Fatalf("tools/call notes__nope: %v; want the name the client sent", err)
		}
	})
}

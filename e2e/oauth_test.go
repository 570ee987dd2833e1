package e2e

import (
	"net/http"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestGoSDKClientSignsInThroughVMCPAndCallsTools(t *testing.T) {
	s := startSystem(t, withDevUsers)
	redirect := redirectURI(t)
	b := newBrowser("alice", "alice", redirect)
	var cs *mcp.ClientSession
	var h *auth.AuthorizationCodeHandler
	cs, h = oauthClient(t, s.url("demo"), b, redirect)

	if !slices.Contains(b.pagesSeen, "/oauth/authorize") || !slices.Contains(b.pagesSeen, "/oauth/login") {
		t.Errorf("sign-in did not go through vmcp's login and consent pages: %v", b.pagesSeen)
	}
	names := toolNames(t, cs)
	if !slices.Contains(names, "notes__add_note") || !slices.Contains(names, "weather__get_forecast") {
		t.Fatalf("tools after OAuth sign-in: %v", names)
	}
	if res := callTool(t, cs, "weather__convert_temperature", map[string]any{"value": 100, "from": "C", "to": "F"}); res.IsError {
		t.Fatalf("tool call failed: %v", res.Content)
	}

	// The client refreshes its token: the old refresh token is rotated out.
	tok := signedInTokens(t, h)
	fresh := refreshWith(t, s.edge, tok.RefreshToken, clientIDOf(t, tok.AccessToken))
	if fresh.code != http.StatusOK || fresh.accessToken == "" {
		t.Fatalf("refresh: HTTP %d %s", fresh.code, fresh.body)
	}
	if code, _ := post(t, s.url("demo"), fresh.accessToken); code != http.StatusOK {
		t.Fatalf("the refreshed access token does not work: HTTP %d", code)
	}
}

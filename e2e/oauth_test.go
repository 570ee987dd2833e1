package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// devUsers is alice (password "alice", group eng), who signs in at vmcp's dev login.
var devUsers = []harness.DevUser{
	{Username: "alice", PasswordHash: "$2a$10$FuRmRGYQVq7NrSJElZbOkuLiDStaaVh.v0x9Tlpgc4MheEax.DjM2", Email: "alice@example.com", Groups: []string{"eng"}},
}

// withDevUsers is a configuration edit that lets devUsers sign in.
func withDevUsers(c *harness.Config) { c.Auth.DevUsers = devUsers }

// oauthClient is an MCP client that knows only the virtual server's URL and signs in through
// vmcp's authorization server, as Claude, VS Code or Cursor do.
func oauthClient(t *testing.T, vsURL string, b *browser, redirect string) (*mcp.ClientSession, *auth.AuthorizationCodeHandler) {
	t.Helper()
	return oauthClientWith(t, vsURL, b, redirect, http.DefaultClient)
}

// oauthClientWith is oauthClient whose MCP and OAuth requests go through httpClient.
func oauthClientWith(t *testing.T, vsURL string, b *browser, redirect string, httpClient *http.Client) (*mcp.ClientSession, *auth.AuthorizationCodeHandler) {
	t.Helper()
	return oauthClientIn(t, vsURL, b, redirect, httpClient, "")
}

// oauthClientIn is oauthClientWith speaking MCP revision version ("": go-sdk's default).
func oauthClientIn(t *testing.T, vsURL string, b *browser, redirect string, httpClient *http.Client, version string) (*mcp.ClientSession, *auth.AuthorizationCodeHandler) {
	t.Helper()
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName:   "e2e go-sdk client",
			RedirectURIs: []string{redirect},
			GrantTypes:   []string{"authorization_code", "refresh_token"},
		}},
		RedirectURL: redirect,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			q, err := b.run(args.URL)
			if err != nil {
				return nil, err
			}
			if e := q.Get("error"); e != "" {
				return nil, fmt.Errorf("authorization failed: %s: %s", e, q.Get("error_description"))
			}
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		RequestRefreshToken: true,
		Client:              httpClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-oauth", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: vsURL, OAuthHandler: h, HTTPClient: httpClient}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect with OAuth: %v (pages seen: %v)", err, b.pagesSeen)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, h
}

// redirectURI returns a loopback redirect URI nobody listens on: the browser stops there.
func redirectURI(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/callback"
}

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
	ts, err := h.TokenSource(context.Background())
	if err != nil || ts == nil {
		t.Fatalf("token source: %v", err)
	}
	tok, err := ts.Token()
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("no refresh token was issued: %v", err)
	}
	fresh := refreshWith(t, s.edge, tok.RefreshToken, clientIDOf(t, s, tok.AccessToken))
	if fresh.code != http.StatusOK || fresh.accessToken == "" {
		t.Fatalf("refresh: HTTP %d %s", fresh.code, fresh.body)
	}
	if code, _ := post(t, s.url("demo"), fresh.accessToken); code != http.StatusOK {
		t.Fatalf("the refreshed access token does not work: HTTP %d", code)
	}
}

type tokenResponse struct {
	code         int
	body         string
	accessToken  string
	refreshToken string
}

// refreshWith redeems a refresh token at vmcp's token endpoint, through Envoy.
func refreshWith(t *testing.T, edge, refreshToken, clientID string) tokenResponse {
	t.Helper()
	resp, err := http.PostForm(edge+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {clientID},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(body, &tr)
	return tokenResponse{code: resp.StatusCode, body: string(body), accessToken: tr.AccessToken, refreshToken: tr.RefreshToken}
}

// clientIDOf reads the client_id claim of an access token (no verification: vmcp did that).
func clientIDOf(t *testing.T, s *system, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatal("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ClientID string `json:"client_id"`
	}
	json.Unmarshal(payload, &c)
	return c.ClientID
}

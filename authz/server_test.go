package authz

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

const testConfig = `
server:
  public_url: https://mcp.example.com
connectors:
  - name: notes
    url: http://127.0.0.1:19001/mcp
virtual_servers:
  - name: eng
    connectors: [notes]
  - name: sales
    connectors: [notes]
`

// newKeys opens a real SQLite store in a temp dir and loads a key ring from it.
func newKeys(t *testing.T) *tokens.Keys {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := tokens.LoadKeys(context.Background(), db, 24*time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

type fixture struct {
	srv    *Server
	minter *tokens.Minter
	signer *identity.Signer
	cfg    *config.Config
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := config.Load("test.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	keys := newKeys(t)
	signer, err := identity.NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(keys, signer, zaptest.NewLogger(t), nil, nil)
	commit, err := srv.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	return &fixture{srv: srv, minter: tokens.NewMinter(keys, cfg.Auth.Issuer, cfg.Auth.TokenTTL), signer: signer, cfg: cfg}
}

func (f *fixture) token(t *testing.T, aud string) string {
	t.Helper()
	tok, err := f.minter.Mint(tokens.Claims{Subject: "alice", Email: "alice@example.com", Groups: []string{"eng"}, Audience: aud})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func check(t *testing.T, srv *Server, path string, hdrs map[string]string) *authv3.CheckResponse {
	t.Helper()
	resp, err := srv.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "POST", Path: path, Headers: hdrs}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func deniedHeader(resp *authv3.CheckResponse, name string) string {
	for _, h := range resp.GetDeniedResponse().GetHeaders() {
		if h.GetHeader().GetKey() == name {
			return h.GetHeader().GetValue()
		}
	}
	return ""
}

func TestRequestsWithoutAValidTokenGetTheMCPChallenge(t *testing.T) {
	f := newFixture(t)
	engToken := f.token(t, "https://mcp.example.com/v/eng/mcp")
	const meta = `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/v/eng/mcp"`
	tests := []struct {
		name          string
		authorization string
		wantError     bool
	}{
		{"no authorization header", "", false},
		{"a scheme other than Bearer", "Basic YWxpY2U6cHc=", false},
		{"an empty bearer token", "Bearer ", false},
		{"a token that is not a JWT", "Bearer not-a-jwt", true},
		{"a token for another virtual server", "Bearer " + f.token(t, "https://mcp.example.com/v/sales/mcp"), true},
		{"a tampered token", "Bearer " + engToken[:len(engToken)-4] + "AAAA", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdrs := map[string]string{}
			if tc.authorization != "" {
				hdrs["authorization"] = tc.authorization
			}
			resp := check(t, f.srv, "/v/eng/mcp", hdrs)
			if got := resp.GetDeniedResponse().GetStatus().GetCode(); got != 401 {
				t.Fatalf("status = %v, want 401", got)
			}
			challenge := deniedHeader(resp, "www-authenticate")
			if !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(challenge, meta) {
				t.Errorf("WWW-Authenticate = %q, want Bearer with %s", challenge, meta)
			}
			if got := strings.Contains(challenge, `error="invalid_token"`); got != tc.wantError {
				t.Errorf("invalid_token in challenge = %v, want %v (%q)", got, tc.wantError, challenge)
			}
			if strings.Contains(resp.String(), strings.TrimPrefix(tc.authorization, "Bearer ")) && tc.wantError {
				t.Error("the denial echoes the token")
			}
		})
	}
}

func TestAValidTokenIsStrippedAndItsIdentityPassedOn(t *testing.T) {
	f := newFixture(t)
	resp := check(t, f.srv, "/v/eng/mcp?x=1", map[string]string{
		"authorization":    "Bearer " + f.token(t, "https://mcp.example.com/v/eng/mcp"),
		"x-vmcp-connector": "notes",
		"x-vmcp-identity":  "forged",
	})
	ok := resp.GetOkResponse()
	if ok == nil {
		t.Fatalf("denied: %v", resp)
	}
	removed := map[string]bool{}
	for _, h := range ok.HeadersToRemove {
		removed[h] = true
	}
	for _, h := range []string{"authorization", "x-vmcp-connector"} {
		if !removed[h] {
			t.Errorf("%s is not removed (removes %v)", h, ok.HeadersToRemove)
		}
	}
	// Envoy removes after it sets: the forged identity is overwritten, never removed, or the
	// signed one would go with it.
	if removed["x-vmcp-identity"] {
		t.Errorf("x-vmcp-identity is removed, which would drop the signed identity too")
	}
	var signed string
	for _, h := range ok.Headers {
		if h.Header.Key == "x-vmcp-identity" {
			signed = h.Header.Value
			if h.AppendAction != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
				t.Errorf("the identity header is added with %v, want it to overwrite a forged one", h.AppendAction)
			}
		}
	}
	id, err := f.signer.Verify(signed)
	if err != nil {
		t.Fatalf("identity header does not verify: %v", err)
	}
	if id.Subject != "alice" || id.Email != "alice@example.com" || id.VirtualServer != "eng" || len(id.Groups) != 1 {
		t.Errorf("identity = %+v", id)
	}
	if md := resp.GetDynamicMetadata(); md != nil {
		t.Errorf("an allow without token exchange carries dynamic metadata %v; the signed header is the identity", md)
	}
}

func TestUnknownPathsAreNotFound(t *testing.T) {
	f := newFixture(t)
	resp := check(t, f.srv, "/v/nope/mcp", map[string]string{"authorization": "Bearer " + f.token(t, "https://mcp.example.com/v/eng/mcp")})
	if got := resp.GetDeniedResponse().GetStatus().GetCode(); got != 404 {
		t.Fatalf("status = %v, want 404", got)
	}
}

func TestUnconfiguredServerDeniesEverything(t *testing.T) {
	srv := NewServer(nil, nil, zaptest.NewLogger(t), nil, nil)
	resp := check(t, srv, "/v/eng/mcp", nil)
	if resp.GetDeniedResponse() == nil {
		t.Fatal("an unconfigured authz allowed a request")
	}
}

// identityHeader is the signed identity an allow sets for the upstream ("" when none).
func identityHeader(resp *authv3.CheckResponse) string {
	for _, h := range resp.GetOkResponse().GetHeaders() {
		if h.GetHeader().GetKey() == headers.Identity {
			return h.GetHeader().GetValue()
		}
	}
	return ""
}

func TestABrowserOriginNotTrustedIsRefusedBeforeTheToken(t *testing.T) {
	f := newFixture(t)
	tok := "Bearer " + f.token(t, "https://mcp.example.com/v/eng/mcp")
	for _, tc := range []struct {
		name, origin, authorization string
		want                        int
	}{
		{"no Origin (not a browser)", "", tok, 0},
		{"the public URL's own origin", "https://mcp.example.com", tok, 0},
		{"a foreign origin with a good token", "https://evil.example.com", tok, 403},
		{"a foreign origin without a token", "https://evil.example.com", "", 403},
		{"the public host over http", "http://mcp.example.com", tok, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdrs := map[string]string{}
			if tc.origin != "" {
				hdrs["origin"] = tc.origin
			}
			if tc.authorization != "" {
				hdrs["authorization"] = tc.authorization
			}
			resp := check(t, f.srv, "/v/eng/mcp", hdrs)
			if tc.want == 0 {
				if resp.GetOkResponse() == nil {
					t.Fatalf("refused: %v", resp.GetDeniedResponse())
				}
				return
			}
			d := resp.GetDeniedResponse()
			if got := int(d.GetStatus().GetCode()); got != tc.want {
				t.Fatalf("status = %d, want %d", got, tc.want)
			}
			var body struct {
				JSONRPC string             `json:"jsonrpc"`
				Error   struct{ Code int } `json:"error"`
			}
			if err := json.Unmarshal([]byte(d.GetBody()), &body); err != nil || body.JSONRPC != "2.0" || body.Error.Code != -32600 {
				t.Errorf("body = %s, want a JSON-RPC error -32600", d.GetBody())
			}
		})
	}
}

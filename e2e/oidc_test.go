package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// The OpenID provider is zitadel/oidc's example OP, built from the Go module proxy: a real,
// third-party provider with a login form, not a fake. Its client "web" (secret "secret") and
// user test-user@localhost / verysecure are built in.
const (
	opPackage  = "github.com/zitadel/oidc/v3/example/server"
	opUser     = "test-user@localhost"
	opPassword = "verysecure"
)

// startOP runs the provider with vmcp's callback as its client's redirect URI and returns its
// issuer (localhost, trailing slash included, exactly as it names itself).
func startOP(t *testing.T, callback string) string {
	t.Helper()
	port := harness.FreePort(t)
	harness.Start(t, "oidc provider", []string{fmt.Sprintf("PORT=%d", port), "REDIRECT_URI=" + callback}, harness.Build(t, opPackage))
	issuer := fmt.Sprintf("http://localhost:%d/", port)
	harness.WaitHTTP(t, issuer+".well-known/openid-configuration", http.StatusOK)
	return issuer
}

// enableOIDC points vmcp's sign-in at the provider and waits until /oauth/authorize uses it.
func enableOIDC(t *testing.T, s *system, issuer string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "op-secret"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.config.Auth.OIDC = &harness.OIDC{Issuer: issuer, ClientID: "web", ClientSecret: "${file:op-secret}"}
	s.reload(func() { s.writeConfig() })
}

func TestGoSDKClientSignsInAtARealOpenIDProvider(t *testing.T) {
	s := startSystem(t)
	issuer := startOP(t, s.edge+"/oauth/callback")
	enableOIDC(t, s, issuer)

	redirect := redirectURI(t)
	b := newBrowser(opUser, opPassword, redirect)
	cs, h := oauthClient(t, s.url("demo"), b, redirect)
	if !slices.Contains(b.pagesSeen, "/login/username") {
		t.Errorf("sign-in did not go through the OpenID provider's login page: %v", b.pagesSeen)
	}
	names := toolNames(t, cs)
	if !slices.Contains(names, "notes__search_notes") {
		t.Fatalf("tools after OIDC sign-in: %v", names)
	}
	if res := callTool(t, cs, "notes__add_note", map[string]any{"title": "from oidc", "body": "signed in at a real IdP"}); res.IsError {
		t.Fatalf("tool call failed: %v", res.Content)
	}

	// The token is refreshed without the IdP, and the refreshed one works.
	tok := signedInTokens(t, h)
	fresh := refreshWith(t, s.edge, tok.RefreshToken, clientIDOf(t, tok.AccessToken))
	if fresh.code != http.StatusOK {
		t.Fatalf("refresh: HTTP %d %s", fresh.code, fresh.body)
	}
	if code, _ := post(t, s.url("demo"), fresh.accessToken); code != http.StatusOK {
		t.Fatalf("the refreshed token does not work: HTTP %d", code)
	}

	// The groups in a refresh family are as old as its sign-in: past auth.sign_in_max_age the
	// refresh is refused, and the client signs in at the provider again, which reads them anew.
	s.config.Auth.SignInMaxAge = time.Second
	s.reload(func() { s.writeConfig() })
	rt, clientID := fresh.refreshToken, clientIDOf(t, fresh.accessToken)
	harness.Eventually(t, 10*time.Second, func() error {
		r := refreshWith(t, s.edge, rt, clientID)
		switch {
		case r.code == http.StatusBadRequest && strings.Contains(r.body, "invalid_grant"):
			return nil
		case r.code == http.StatusOK:
			rt = r.refreshToken // rotated; the sign-in is not old enough yet
			return fmt.Errorf("still refreshing")
		default:
			t.Fatalf("refresh past sign_in_max_age: HTTP %d, want 400 invalid_grant", r.code)
			return nil
		}
	})
	b2 := newBrowser(opUser, opPassword, redirect)
	cs2, _ := oauthClient(t, s.url("demo"), b2, redirect)
	if !slices.Contains(b2.pagesSeen, "/login/username") {
		t.Errorf("signing in again did not go through the OpenID provider: %v", b2.pagesSeen)
	}
	if names := toolNames(t, cs2); !slices.Contains(names, "notes__search_notes") {
		t.Fatalf("tools after signing in again: %v", names)
	}
}

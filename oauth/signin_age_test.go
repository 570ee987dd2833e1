package oauth

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// groupsIn reads the groups claim of an access token vmcp minted (its signature is the token
// tests' business).
func groupsIn(t *testing.T, jwt string) []string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Groups []string `json:"groups"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c.Groups
}

// A refresh token carries the groups of its sign-in. A user removed from a group at the identity
// provider must lose it within auth.sign_in_max_age, not keep it for the 30-day refresh family:
// past the limit the refresh is refused (and the family revoked), and signing in again reads the
// groups afresh.
func TestRefreshStopsAtTheSignInMaxAgeAndSigningInAgainRereadsGroups(t *testing.T) {
	a := newAS(t)
	var skew atomic.Int64
	a.server.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	clientID := a.register(redirect)
	p := newPKCE()
	first := a.exchange(clientID, a.signIn(clientID, p), p.verifier)
	if first.Status != 200 || !slices.Equal(groupsIn(t, first.AccessToken), []string{"eng"}) {
		t.Fatalf("sign-in: HTTP %d %s", first.Status, first.Error)
	}
	refresh := func(rt string) tokenAnswer {
		return a.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}})
	}

	// The identity provider moves alice from eng to sales.
	cfgYAML := strings.Replace(testConfig, "groups: [eng]", "groups: [sales]", 1)
	cfgYAML = strings.Replace(cfgYAML, "auth:\n", "server: {public_url: \""+a.srv.URL+"\"}\nauth:\n", 1)
	cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.SignInMaxAge != 24*time.Hour {
		t.Fatalf("default sign_in_max_age = %v, want 24h", cfg.Auth.SignInMaxAge)
	}
	commit, err := a.server.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()

	// Within the limit the family refreshes, with the groups of its sign-in.
	skew.Store(int64(23 * time.Hour))
	second := refresh(first.RefreshToken)
	if second.Status != 200 || !slices.Equal(groupsIn(t, second.AccessToken), []string{"eng"}) {
		t.Fatalf("refresh within the limit: HTTP %d %s", second.Status, second.Error)
	}
	// Past it, no more: not with the newest token either, and not after it (the family is gone).
	skew.Store(int64(24*time.Hour + time.Minute))
	if late := refresh(second.RefreshToken); late.Status != 400 || late.Error != "invalid_grant" {
		t.Fatalf("refresh past sign_in_max_age: HTTP %d %q, want 400 invalid_grant", late.Status, late.Error)
	}
	skew.Store(int64(23 * time.Hour))
	if again := refresh(second.RefreshToken); again.Error != "invalid_grant" {
		t.Fatalf("the family outlived its refusal: HTTP %d %q", again.Status, again.Error)
	}
	// Signing in again reads the identity provider's groups as they are now.
	third := a.exchange(clientID, a.signIn(clientID, p), p.verifier)
	if third.Status != 200 {
		t.Fatalf("sign-in after the change: HTTP %d %s", third.Status, third.Error)
	}
	if got := groupsIn(t, third.AccessToken); !slices.Equal(got, []string{"sales"}) {
		t.Fatalf("groups after signing in again: %v, want [sales]", got)
	}
}

func TestSignInMaxAgeMustNotBeNegative(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(strings.Replace(testConfig, "auth:\n", "auth:\n  sign_in_max_age: -1h\n", 1)))
	if err == nil || !strings.Contains(err.Error(), "auth.sign_in_max_age") {
		t.Fatalf("a negative sign_in_max_age: %v", err)
	}
}

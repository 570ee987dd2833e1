package authz

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/identity"
)

const (
	idpIssuer = "https://idp.example.com"
	engURL    = "https://mcp.example.com/v/eng/mcp"
)

// idp is an identity provider for tests: RSA keys published as a JWKS over real HTTP.
type idp struct {
	t       *testing.T
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	publish []string // kids in the JWKS
	hits    atomic.Int64
	down    atomic.Bool
	srv     *httptest.Server
}

func newIDP(t *testing.T) *idp {
	p := &idp{t: t, keys: map[string]*rsa.PrivateKey{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		set := jwk.NewSet()
		for _, kid := range p.publish {
			k, _ := jwk.FromRaw(p.keys[kid].Public())
			k.Set(jwk.KeyIDKey, kid)
			set.AddKey(k)
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// addKey creates a key; published keys appear in the JWKS.
func (p *idp) addKey(kid string, published bool) {
	p.t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[kid] = k
	if published {
		p.publish = append(p.publish, kid)
	}
}

func (p *idp) publishKey(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publish = append(p.publish, kid)
}

type claimEdit func(b *jwt.Builder) *jwt.Builder

func (p *idp) token(kid string, edits ...claimEdit) string {
	p.t.Helper()
	now := time.Now()
	b := jwt.NewBuilder().Issuer(idpIssuer).Subject("alice").Audience([]string{engURL}).
		IssuedAt(now).NotBefore(now).Expiration(now.Add(time.Hour)).Claim("groups", []string{"eng"})
	for _, e := range edits {
		b = e(b)
	}
	tok, err := b.Build()
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	key := p.keys[kid]
	p.mu.Unlock()
	priv, _ := jwk.FromRaw(key)
	priv.Set(jwk.KeyIDKey, kid)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, priv))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(signed)
}

func idpConfig(jwksURL, minRefresh, policyDir, access string) string {
	pol := ""
	if policyDir != "" {
		pol = "  policies: " + policyDir + "\n"
	}
	return fmt.Sprintf(`
server:
  public_url: https://mcp.example.com
auth:
%s  trusted_issuers:
    - issuer: %s
      jwks_url: %s
      min_refresh_interval: %s
connectors:
  - name: notes
    url: http://127.0.0.1:19001/mcp
virtual_servers:
  - name: eng
    connectors: [notes]
%s  - name: sales
    connectors: [notes]
`, pol, idpIssuer, jwksURL, minRefresh, access)
}

func newIDPServer(t *testing.T, yaml string) *Server {
	t.Helper()
	cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := identity.NewSigner([]byte(strings.Repeat("k", 32)))
	srv := NewServer(newKeys(t), signer, zaptest.NewLogger(t), nil, nil)
	apply(t, srv, cfg)
	return srv
}

func apply(t *testing.T, srv *Server, cfg *config.Config) {
	t.Helper()
	commit, err := srv.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
}

func statusOf(t *testing.T, srv *Server, token string) (int, string) {
	t.Helper()
	resp := check(t, srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + token})
	if resp.GetOkResponse() != nil {
		return 200, ""
	}
	return int(resp.GetDeniedResponse().GetStatus().GetCode()), deniedHeader(resp, "www-authenticate")
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestEveryTokenDefectIsRejectedWithTheRightChallenge(t *testing.T) {
	p := newIDP(t)
	p.addKey("k1", true)
	p.addKey("stranger", false)
	srv := newIDPServer(t, idpConfig(p.srv.URL, "1h", "", ""))
	good := p.token("k1")
	parts := strings.Split(good, ".")

	// The classic key confusion: sign HS256 with the public key's bytes as the HMAC secret.
	pubDER, _ := x509.MarshalPKIXPublicKey(p.keys["k1"].Public())
	hsHdr := jws.NewHeaders()
	hsHdr.Set(jws.KeyIDKey, "k1")
	hsTok, _ := jwt.NewBuilder().Issuer(idpIssuer).Subject("alice").Audience([]string{engURL}).Expiration(time.Now().Add(time.Hour)).Build()
	hs256, err := jwt.Sign(hsTok, jwt.WithKey(jwa.HS256, pubDER, jws.WithProtectedHeaders(hsHdr)))
	if err != nil {
		t.Fatal(err)
	}
	tamperedClaims := strings.Replace(string(mustDecode(t, parts[1])), `"alice"`, `"admin"`, 1)

	tests := []struct {
		name, token, reason string
	}{
		{"expired", p.token("k1", func(b *jwt.Builder) *jwt.Builder { return b.Expiration(time.Now().Add(-time.Hour)) }), "token expired"},
		{"not yet valid", p.token("k1", func(b *jwt.Builder) *jwt.Builder { return b.NotBefore(time.Now().Add(time.Hour)) }), "token not yet valid"},
		{"issued in the future", p.token("k1", func(b *jwt.Builder) *jwt.Builder { return b.IssuedAt(time.Now().Add(time.Hour)) }), "token issued in the future"},
		{"for another virtual server", p.token("k1", func(b *jwt.Builder) *jwt.Builder {
			return b.Audience([]string{"https://mcp.example.com/v/sales/mcp"})
		}), "token audience is not this virtual server"},
		{"from an untrusted issuer", p.token("k1", func(b *jwt.Builder) *jwt.Builder { return b.Issuer("https://evil.example.com") }), "token issuer is not trusted"},
		{"with alg none", b64(`{"alg":"none","kid":"k1"}`) + "." + parts[1] + ".", "token signing algorithm is not accepted"},
		{"HS256 signed with the public key", string(hs256), "token signing algorithm is not accepted"},
		{"signed by an unknown key", p.token("stranger"), "token signed by an unknown key"},
		{"with a tampered payload", parts[0] + "." + b64(tamperedClaims) + "." + parts[2], "token signature or format is invalid"},
		{"without a subject", p.token("k1", func(b *jwt.Builder) *jwt.Builder { return b.Subject("") }), "token"},
		{"without an expiry", func() string {
			tok, _ := jwt.NewBuilder().Issuer(idpIssuer).Subject("alice").Audience([]string{engURL}).Build()
			priv, _ := jwk.FromRaw(p.keys["k1"])
			priv.Set(jwk.KeyIDKey, "k1")
			s, _ := jwt.Sign(tok, jwt.WithKey(jwa.RS256, priv))
			return string(s)
		}(), "token"},
		{"that is not a JWT", "abc.def", "token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, challenge := statusOf(t, srv, tc.token)
			if code != 401 {
				t.Fatalf("status = %d, want 401", code)
			}
			if !strings.Contains(challenge, `error="invalid_token"`) || !strings.Contains(challenge, `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/v/eng/mcp"`) {
				t.Errorf("challenge = %q", challenge)
			}
			if !strings.Contains(challenge, tc.reason) {
				t.Errorf("challenge %q does not give the reason %q", challenge, tc.reason)
			}
		})
	}
	if code, _ := statusOf(t, srv, good); code != 200 {
		t.Fatalf("the untampered token was refused: %d", code)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestARotatedKeyIsAcceptedAfterTheJWKSIsRefetched(t *testing.T) {
	p := newIDP(t)
	p.addKey("k1", true)
	srv := newIDPServer(t, idpConfig(p.srv.URL, "1m", "", ""))
	if code, _ := statusOf(t, srv, p.token("k1")); code != 200 {
		t.Fatalf("token with the initial key: %d", code)
	}
	p.addKey("k2", false)
	p.publishKey("k2")
	advance(srv, 2*time.Minute) // past min_refresh_interval (1m)
	if code, challenge := statusOf(t, srv, p.token("k2")); code != 200 {
		t.Fatalf("token with the rotated key: %d %s", code, challenge)
	}
}

func TestUnknownKeyIDsCannotHammerTheIdentityProvider(t *testing.T) {
	p := newIDP(t)
	p.addKey("k1", true)
	p.addKey("stranger", false)
	srv := newIDPServer(t, idpConfig(p.srv.URL, "1h", "", ""))
	before := p.hits.Load()
	for i := 0; i < 50; i++ {
		p.mu.Lock()
		p.keys[fmt.Sprintf("made-up-%d", i)] = p.keys["stranger"]
		p.mu.Unlock()
		if code, _ := statusOf(t, srv, p.token(fmt.Sprintf("made-up-%d", i))); code != 401 {
			t.Fatalf("token with an unpublished key got %d", code)
		}
	}
	if fetched := p.hits.Load() - before; fetched > 1 {
		t.Fatalf("50 unknown key ids caused %d JWKS fetches; want at most 1 per min_refresh_interval", fetched)
	}
}

func TestKnownKeysKeepWorkingWhileTheJWKSEndpointIsDown(t *testing.T) {
	p := newIDP(t)
	p.addKey("k1", true)
	srv := newIDPServer(t, idpConfig(p.srv.URL, "1m", "", ""))
	p.down.Store(true)
	p.addKey("k2", false)
	advance(srv, 2*time.Minute) // past the rate limit, so an unknown kid does try the endpoint
	if code, _ := statusOf(t, srv, p.token("k2")); code != 401 {
		t.Fatalf("unknown key while the IdP is down: %d", code)
	}
	if code, _ := statusOf(t, srv, p.token("k1")); code != 200 {
		t.Fatalf("a known key stopped working while the IdP is down: %d", code)
	}
}

func TestGroupAccessAndPolicyChangesApplyWithoutRestart(t *testing.T) {
	p := newIDP(t)
	p.addKey("k1", true)
	dir := t.TempDir()
	defaults, err := os.ReadFile("../policies/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), defaults, 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := idpConfig(p.srv.URL, "1h", dir, "    access: {groups: [sre]}\n")
	srv := newIDPServer(t, yaml)
	engMember := p.token("k1")
	sreMember := p.token("k1", func(b *jwt.Builder) *jwt.Builder { return b.Claim("groups", []string{"sre"}) })
	if code, _ := statusOf(t, srv, engMember); code != 403 {
		t.Fatalf("a caller outside the allowed groups got %d, want 403", code)
	}
	if code, _ := statusOf(t, srv, sreMember); code != 200 {
		t.Fatalf("a member of an allowed group got %d", code)
	}

	// The security team tightens the policy: nobody on eng today.
	strict := `package vmcp.authz
import rego.v1
decision := {"allow": false, "reason": "eng is closed for maintenance", "scope": "mcp:eng"}
`
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(strict), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(yaml))
	apply(t, srv, cfg)
	resp := check(t, srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + sreMember})
	if got := resp.GetDeniedResponse().GetStatus().GetCode(); got != 403 {
		t.Fatalf("after the policy change: %v, want 403", got)
	}
	challenge := deniedHeader(resp, "www-authenticate")
	if !strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="mcp:eng"`) {
		t.Errorf("challenge = %q, want insufficient_scope with the scope", challenge)
	}

	// A broken policy is refused at Prepare and the last good one keeps deciding.
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte("package vmcp.authz\ndecision := {"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Prepare(cfg); err == nil {
		t.Fatal("a policy that does not compile was accepted")
	}
	if code, _ := statusOf(t, srv, sreMember); code != 403 {
		t.Fatalf("after a rejected policy: %d, want the previous policy's 403", code)
	}
}

func TestCachedTokensStillExpire(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "https://mcp.example.com/v/eng/mcp")
	if resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok}); resp.GetOkResponse() == nil {
		t.Fatal("fresh token refused")
	}
	f.srv.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok})
	if resp.GetOkResponse() != nil {
		t.Fatal("an expired token was served from the cache")
	}
}

// advance moves the server's clock forward (token validation and the JWKS rate limit both read
// it), instead of sleeping.
func advance(srv *Server, d time.Duration) {
	prev := srv.now
	srv.now = func() time.Time { return prev().Add(d) }
}

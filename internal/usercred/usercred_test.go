package usercred

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

const issuer = "https://vmcp.example"

func loadKeys(t testing.TB) *tokens.Keys {
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

func resolverFor(t testing.TB, oauth OAuthTokens, conns ...config.Connector) *Resolver {
	t.Helper()
	r := NewResolver(oauth, loadKeys(t), nil)
	cfg := &config.Config{Connectors: conns}
	cfg.Auth.Issuer = issuer
	commit, err := r.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	return r
}

var alice = Caller{Subject: "alice", Email: "alice@example.com", Groups: []string{"eng"}}

func TestAnIdentityAssertionNamesTheUserForThatConnectorAndVerifiesWithVMCPsKeys(t *testing.T) {
	keys := loadKeys(t)
	r := NewResolver(nil, keys, nil)
	cfg := &config.Config{Connectors: []config.Connector{
		{Name: "internal", URL: "https://internal.example/mcp", Credential: config.Credential{Type: config.CredentialIdentityAssertion}},
		{Name: "legacy", URL: "https://legacy.example/mcp", Credential: config.Credential{Type: config.CredentialIdentityAssertion, Header: "X-User-Assertion", TTL: time.Minute}},
	}}
	cfg.Auth.Issuer = issuer
	commit, _ := r.Prepare(cfg)
	commit()
	verifier := tokens.NewVerifier(keys.PublicSet(), issuer, 0)

	hs, err := r.Headers(t.Context(), alice, "internal")
	if err != nil || len(hs) != 1 || hs[0].Name != "authorization" || !strings.HasPrefix(hs[0].Value, "Bearer ") {
		t.Fatalf("Headers = %v, %v; want one Authorization: Bearer", hs, err)
	}
	claims, err := verifier.Verify(strings.TrimPrefix(hs[0].Value, "Bearer "), "https://internal.example/mcp")
	if err != nil || claims.Subject != "alice" || claims.Email != "alice@example.com" || len(claims.Groups) != 1 || time.Until(claims.Expiry) > config.DefaultAssertionTTL {
		t.Fatalf("assertion claims %+v, %v", claims, err)
	}
	if _, err := verifier.Verify(strings.TrimPrefix(hs[0].Value, "Bearer "), "https://legacy.example/mcp"); err == nil {
		t.Fatal("an assertion for one connector verified for another")
	}
	hs, err = r.Headers(t.Context(), alice, "legacy")
	if err != nil || hs[0].Name != "x-user-assertion" {
		t.Fatalf("custom header: %v, %v", hs, err)
	}
	if _, err := verifier.Verify(hs[0].Value, "https://legacy.example/mcp"); err != nil {
		t.Fatalf("custom header assertion: %v", err)
	}
}

// sts is an RFC 8693 token service on loopback that checks what it is sent.
type sts struct {
	url   string
	calls atomic.Int32
	got   chan map[string]string
	gate  chan struct{}
	// arrived hears of each request as it comes in.
	arrived chan struct{}
}

func startSTS(t *testing.T, refuse bool) *sts {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sts{url: "http://" + l.Addr().String() + "/token", got: make(chan map[string]string, 100), arrived: make(chan struct{}, 100)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		s.arrived <- struct{}{}
		if s.gate != nil {
			<-s.gate
		}
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		seen := map[string]string{"client": id + ":" + secret}
		for k := range r.PostForm {
			seen[k] = r.PostForm.Get(k)
		}
		s.got <- seen
		w.Header().Set("Content-Type", "application/json")
		if refuse {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_target", "error_description": "echo " + r.PostForm.Get("subject_token")})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": "exchanged-for-" + r.PostForm.Get("audience"), "issued_token_type": typeAccessToken, "token_type": "Bearer", "expires_in": 600})
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func exchangeConnector(tokenURL string) config.Connector {
	return config.Connector{Name: "jira", URL: "https://jira.example/mcp", Credential: config.Credential{
		Type: config.CredentialTokenExchange, TokenURL: tokenURL, ClientID: "vmcp", ClientSecret: config.NewSecret("${env:S}", "sts-secret"),
		Audience: "jira", Scopes: []string{"read", "write"},
	}}
}

func TestTokenExchangeTradesTheIdPTokenOrAVMCPAssertionOncePerUser(t *testing.T) {
	s := startSTS(t, false)
	keys := loadKeys(t)
	r := NewResolver(nil, keys, nil)
	cfg := &config.Config{Connectors: []config.Connector{exchangeConnector(s.url)}}
	cfg.Auth.Issuer = issuer
	commit, _ := r.Prepare(cfg)
	commit()

	// Without an IdP token: a vmcp-signed JWT for the token service.
	hs, err := r.Headers(t.Context(), alice, "jira")
	if err != nil || hs[0].Value != "Bearer exchanged-for-jira" {
		t.Fatalf("Headers = %v, %v", hs, err)
	}
	got := <-s.got
	if got["grant_type"] != grantTokenExchange || got["subject_token_type"] != typeJWT || got["audience"] != "jira" ||
		got["scope"] != "read write" || got["resource"] != "https://jira.example/mcp" || got["client"] != "vmcp:sts-secret" {
		t.Fatalf("the token service got %v", got)
	}
	if c, err := tokens.NewVerifier(keys.PublicSet(), issuer, 0).Verify(got["subject_token"], s.url); err != nil || c.Subject != "alice" {
		t.Fatalf("subject token: %+v, %v", c, err)
	}
	// Cached: no second exchange.
	r.Headers(t.Context(), alice, "jira")
	if n := s.calls.Load(); n != 1 {
		t.Fatalf("%d exchanges for one user, want 1 (cached)", n)
	}

	// With an IdP token (bob came with one), that token is the subject token.
	bob := Caller{Subject: "bob", SubjectToken: "idp-access-token-of-bob"}
	if _, err := r.Headers(t.Context(), bob, "jira"); err != nil {
		t.Fatal(err)
	}
	got = <-s.got
	if got["subject_token"] != "idp-access-token-of-bob" || got["subject_token_type"] != typeAccessToken {
		t.Fatalf("the token service got subject token type %q", got["subject_token_type"])
	}
}

func TestConcurrentMissesForOneUserMakeOneExchange(t *testing.T) {
	s := startSTS(t, false)
	s.gate = make(chan struct{})
	r := resolverFor(t, nil, exchangeConnector(s.url))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Headers(context.Background(), alice, "jira")
			errs <- err
		}()
	}
	// Let the single exchange through once it has started; the others are waiting on it.
	<-s.arrived
	close(s.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.calls.Load(); n != 1 {
		t.Fatalf("%d exchanges for 20 concurrent calls of one user, want 1", n)
	}
}

func TestARefusedExchangeNeverQuotesTheTokenServicesAnswer(t *testing.T) {
	s := startSTS(t, true)
	r := resolverFor(t, nil, exchangeConnector(s.url))
	_, err := r.Headers(t.Context(), Caller{Subject: "bob", SubjectToken: "idp-secret-token"}, "jira")
	if err == nil || !strings.Contains(err.Error(), "HTTP 400 invalid_target") || strings.Contains(err.Error(), "idp-secret-token") {
		t.Fatalf("error = %v; want the status and code only", err)
	}
}

// countingTokens is an OAuthTokens that counts its calls, standing in for connections.Manager
// (tested on its own with a real store and authorization server) to show the cache's behaviour.
type countingTokens struct {
	calls atomic.Int32
	err   error
}

func (c *countingTokens) Token(ctx context.Context, subject, connector string) (string, time.Time, error) {
	c.calls.Add(1)
	return "user-token-of-" + subject, time.Now().Add(time.Hour), c.err
}

func TestOAuthTokensAreCachedUntilForgottenOrReloaded(t *testing.T) {
	ct := &countingTokens{}
	conn := config.Connector{Name: "github", URL: "https://gh.example/mcp", Credential: config.Credential{Type: config.CredentialOAuth, ClientID: "x"}}
	r := resolverFor(t, ct, conn)
	for range 3 {
		hs, err := r.Headers(t.Context(), alice, "github")
		if err != nil || hs[0].Value != "Bearer user-token-of-alice" {
			t.Fatalf("Headers = %v, %v", hs, err)
		}
	}
	if n := ct.calls.Load(); n != 1 {
		t.Fatalf("%d store reads for 3 calls, want 1", n)
	}
	r.Forget("alice", "github")
	r.Headers(t.Context(), alice, "github")
	if n := ct.calls.Load(); n != 2 {
		t.Fatalf("after Forget: %d reads, want 2", n)
	}
	commit, _ := r.Prepare(&config.Config{Connectors: []config.Connector{conn}})
	commit()
	r.Headers(t.Context(), alice, "github")
	if n := ct.calls.Load(); n != 3 {
		t.Fatalf("after a reload: %d reads, want 3", n)
	}
	ct.err = &credential.NotConnectedError{Connector: "github", URL: "https://vmcp.example/connect/github"}
	if _, err := r.Headers(t.Context(), Caller{Subject: "carol"}, "github"); err != ct.err {
		t.Fatalf("not connected: %v", err)
	}
}

func BenchmarkHeadersCached(b *testing.B) {
	r := resolverFor(b, &countingTokens{}, config.Connector{Name: "github", URL: "https://gh.example/mcp", Credential: config.Credential{Type: config.CredentialOAuth, ClientID: "x"}})
	ctx := context.Background()
	r.Headers(ctx, alice, "github")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Headers(ctx, alice, "github"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

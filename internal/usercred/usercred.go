// Package usercred resolves the per-user connector credentials — the user's own OAuth token
// (credential type oauth), a token obtained by RFC 8693 token exchange, or a vmcp-signed identity
// assertion — into the headers of a connector-bound request. Results are cached in memory per
// user and connector until shortly before they expire, so a call costs a map lookup, not a
// store read, a decryption or a signature; a miss is resolved once however many calls wait for
// it (single flight per user and connector).
package usercred

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// Caller is who a credential is for.
type Caller struct {
	Subject string
	Email   string
	Groups  []string
	// SubjectToken is the caller's own access token from a trusted issuer (the organisation's
	// IdP), when that is how they authenticated; token exchange trades it. Empty otherwise.
	SubjectToken string
}

// OAuthTokens hands out users' own connector tokens (connections.Manager).
type OAuthTokens interface {
	Token(ctx context.Context, subject, connector string) (string, time.Time, error)
}

// Resolver turns a caller and a connector into credential headers.
type Resolver struct {
	oauth  OAuthTokens
	keys   *tokens.Keys
	http   *http.Client
	now    func() time.Time
	flight singleflight.Group

	state atomic.Pointer[strategies]
}

// strategies are the per-user credential strategies of one configuration, by connector, and
// the cache of the credentials they produced.
type strategies struct {
	issuer     string
	connectors map[string]*strategy
	// cache is replaced on every configuration change: a changed strategy must not be served
	// from the old one's results.
	cache *sync.Map
}

// strategy is one connector's per-user credential configuration.
type strategy struct {
	name string
	kind config.CredentialType
	url  string
	// header names the header carrying an identity assertion ("" means Authorization: Bearer).
	header string
	ttl    time.Duration
	// token exchange
	tokenURL, clientID, clientSecret, audience, scope string
}

// entry is a cached credential.
type entry struct {
	headers []credential.Header
	until   time.Time
}

// maxAge bounds how long a cached credential is used even when it expires later: a disconnect or
// a revocation on another replica (or by `vmcp`'s CLI) takes effect within it.
const maxAge = 2 * time.Minute

// margin is how long before its expiry a cached credential is replaced.
const margin = 30 * time.Second

// NewResolver returns a resolver using oauth for credential type oauth and keys (vmcp's signing
// key ring) for assertions.
func NewResolver(oauth OAuthTokens, keys *tokens.Keys, httpClient *http.Client) *Resolver {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Resolver{oauth: oauth, keys: keys, http: httpClient, now: time.Now}
}

// Prepare compiles cfg; the commit swaps it in and empties the cache.
func (r *Resolver) Prepare(cfg *config.Config) (func(), error) {
	strategies := &strategies{issuer: cfg.Auth.Issuer, connectors: map[string]*strategy{}, cache: &sync.Map{}}
	for _, conn := range cfg.Connectors {
		cr := conn.Credential
		if !cr.Type.PerUser() {
			continue
		}
		s := &strategy{name: conn.Name, kind: cr.Type, url: conn.URL, header: strings.ToLower(cr.Header), ttl: cr.TTL,
			tokenURL: cr.TokenURL, clientID: cr.ClientID, clientSecret: cr.ClientSecret.Value(), audience: cr.Audience, scope: strings.Join(cr.Scopes, " ")}
		if s.ttl == 0 {
			s.ttl = config.DefaultAssertionTTL
		}
		strategies.connectors[conn.Name] = s
	}
	return func() { r.state.Store(strategies) }, nil
}

// Headers returns the headers carrying caller's credential for connector. A user who must first
// connect their account gets a *credential.NotConnectedError.
func (r *Resolver) Headers(ctx context.Context, caller Caller, connector string) (_ []credential.Header, err error) {
	strategies := r.state.Load()
	s := strategies.connectors[connector]
	if s == nil {
		return nil, fmt.Errorf("connector %q has no per-user credential", connector)
	}
	ctx, span := tracing.StartCredential(ctx, connector, string(s.kind))
	defer func() { span.Error(err); span.End() }()
	key := caller.Subject + "\x00" + connector
	now := r.now()
	if v, ok := strategies.cache.Load(key); ok && now.Before(v.(*entry).until) {
		span.Cached(true)
		return v.(*entry).headers, nil
	}
	span.Cached(false)
	// The resolution is shared by every caller waiting on it: one caller going away must not
	// fail the others (the outbound requests have their own timeouts).
	shared := context.WithoutCancel(ctx)
	v, err, _ := r.flight.Do(key, func() (any, error) {
		// A caller that waited on another's miss finds its result here.
		if v, ok := strategies.cache.Load(key); ok && r.now().Before(v.(*entry).until) {
			return v, nil
		}
		hs, expiry, err := r.resolve(shared, strategies, s, caller)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if i := strings.IndexFunc(h.Value, isControl); i >= 0 {
				return nil, fmt.Errorf("connector %q: the credential obtained for it contains a control character", connector)
			}
		}
		fetched := r.now()
		e := &entry{headers: hs, until: fetched.Add(maxAge)}
		if !expiry.IsZero() && expiry.Add(-margin).Before(e.until) {
			e.until = expiry.Add(-margin)
		}
		strategies.cache.Store(key, e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry).headers, nil
}

// Forget drops a cached credential (the user disconnected or reconnected).
func (r *Resolver) Forget(subject, connector string) {
	if strategies := r.state.Load(); strategies != nil {
		strategies.cache.Delete(subject + "\x00" + connector)
	}
}

func (r *Resolver) resolve(ctx context.Context, strategies *strategies, s *strategy, caller Caller) ([]credential.Header, time.Time, error) {
	switch s.kind {
	case config.CredentialOAuth:
		tok, exp, err := r.oauth.Token(ctx, caller.Subject, s.name)
		if err != nil {
			return nil, time.Time{}, err
		}
		return bearer(tok), exp, nil
	case config.CredentialIdentityAssertion:
		jwt, err := tokens.NewMinter(r.keys, strategies.issuer, s.ttl).Mint(tokens.Claims{Subject: caller.Subject, Email: caller.Email, Groups: caller.Groups, Audience: s.url})
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("connector %q: identity assertion: %w", s.name, err)
		}
		exp := r.now().Add(s.ttl)
		if s.header != "" && s.header != "authorization" {
			return []credential.Header{{Name: s.header, Value: jwt}}, exp, nil
		}
		return bearer(jwt), exp, nil
	case config.CredentialTokenExchange:
		return r.exchange(ctx, strategies, s, caller)
	}
	return nil, time.Time{}, errors.New("unknown per-user credential type")
}

func bearer(tok string) []credential.Header {
	return []credential.Header{{Name: "authorization", Value: "Bearer " + tok}}
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/oauth/clientmeta"
	"github.com/vmcp-dev/vmcp/oauth/login"
)

// Server is vmcp's OAuth 2.1 authorization server, as the MCP authorization spec expects one:
// metadata (RFC 8414), client registration (RFC 7591, metadata documents, configured clients),
// authorization code with PKCE S256 and resource indicators (RFC 8707), refresh token rotation
// with reuse detection, revocation (RFC 7009) and a JWKS. Users sign in through the login
// provider (the organisation's OIDC provider, or dev users in `vmcp dev`).
type Server struct {
	store   store.Store
	keys    *tokens.Keys
	sealKey []byte
	dev     bool
	log     *zap.Logger
	fetcher *clientmeta.Fetcher

	state atomic.Pointer[setup]

	mu       sync.Mutex // serialises Prepare
	provider login.Provider
	loginCfg string

	handoff handoffs

	// now is the clock; tests move it.
	now func() time.Time
}

// setup is the authorization server as one configuration sets it up: its issuer and the view
// from each public URL, token lifetimes, resources, registered clients and the login provider.
type setup struct {
	issuer string // the canonical issuer (auth.issuer)
	// views are the authorization server as seen from each public URL, by lower-case host;
	// canonical is server.public_url's, also used for unknown hosts.
	views        map[string]*view
	canonical    *view
	accessTTL    time.Duration
	refreshTTL   time.Duration
	signInMaxAge time.Duration
	codeTTL      time.Duration
	resources    map[string]string // resource URL, in every spelling → virtual server name
	onlyPath     string            // the virtual server's path when there is exactly one
	clients      map[string]*client
	dynamic      bool
	metadataDocs bool
	provider     login.Provider
}

// view is the authorization server as a client reaching it on one public URL sees it: RFC 8414
// §3.3 has the client check that the metadata's issuer is the URL it fetched it from, and
// RFC 9207 that the iss of the authorization response is that issuer, so a client on localhost
// (or an alias) gets everything in that spelling, its tokens included.
type view struct {
	base           string // scheme://host[:port]
	issuer         string
	minter         *tokens.Minter
	metadata       []byte
	openIDMetadata []byte
}

// viewFor picks the view for the public URL the request came in on (its Host, which Envoy
// forwards unchanged on the /oauth and well-known routes).
func (setup *setup) viewFor(r *http.Request) *view {
	if v, ok := setup.views[strings.ToLower(r.Host)]; ok {
		return v
	}
	return setup.canonical
}

// viewOfIssuer is the view whose issuer is iss: a sign-in started on one spelling finishes in
// it whichever host the browser returns on. Grants stored before issuers were recorded carry
// none and get the canonical view.
func (setup *setup) viewOfIssuer(iss string) *view {
	for _, v := range setup.views {
		if v.issuer == iss {
			return v
		}
	}
	return setup.canonical
}

// Options configure a Server.
type Options struct {
	Store store.Store
	Keys  *tokens.Keys
	// SealKey (32 bytes, shared by replicas) protects login state and consent forms.
	SealKey []byte
	// Dev allows dev users and metadata documents on loopback: `vmcp dev` only.
	Dev bool
	Log *zap.Logger
	// ClientMetadata overrides how client metadata documents are fetched (tests trust their own
	// CA this way); the zero value is the production fetcher.
	ClientMetadata *clientmeta.Options
}

// NewServer returns an authorization server; Prepare must be committed before it serves.
func NewServer(o Options) *Server {
	fetchOpts := clientmeta.Options{AllowLoopback: o.Dev}
	if o.ClientMetadata != nil {
		fetchOpts = *o.ClientMetadata
	}
	return &Server{
		store: o.Store, keys: o.Keys, sealKey: o.SealKey, dev: o.Dev, log: o.Log,
		fetcher: clientmeta.NewFetcher(fetchOpts), now: time.Now,
	}
}

// Prepare compiles cfg; the returned commit makes it live.
func (s *Server) Prepare(cfg *config.Config) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	provider := s.provider
	loginKey := loginFingerprint(cfg.Auth.Login) + "|" + cfg.Server.PublicURL
	switch {
	case cfg.Auth.Login.OIDC == nil && len(cfg.Auth.Login.DevUsers) == 0:
		// Tokens from trusted issuers still work; only vmcp's own sign-in is unavailable, and
		// /oauth/authorize says so.
		provider = nil
	case provider == nil || loginKey != s.loginCfg:
		p, err := login.New(context.Background(), cfg.Auth.Login, cfg.Server.PublicURL, s.dev, s.log.Named("login"), login.WithSealKey(s.sealKey))
		if err != nil {
			return nil, fmt.Errorf("auth.login: %w", err)
		}
		provider = p
	}
	setup := &setup{
		issuer:       strings.TrimSuffix(cfg.Auth.Issuer, "/"),
		views:        map[string]*view{},
		accessTTL:    cfg.Auth.TokenTTL,
		refreshTTL:   cfg.Auth.RefreshTokenTTL,
		signInMaxAge: cfg.Auth.SignInMaxAge,
		codeTTL:      cfg.Auth.CodeTTL,
		resources:    map[string]string{},
		clients:      map[string]*client{},
		dynamic:      *cfg.Auth.DynamicRegistration,
		metadataDocs: *cfg.Auth.ClientMetadataDocuments,
		provider:     provider,
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for _, res := range authz.ResourceURLs(cfg, vs) {
			setup.resources[res] = vs.Name
		}
	}
	if len(cfg.VirtualServers) == 1 {
		setup.onlyPath = cfg.VirtualServers[0].Path
	}
	for _, cl := range cfg.Auth.Clients {
		cc := &client{id: cl.ClientID, name: cl.Name, redirectURIs: cl.RedirectURIs, kind: "configured"}
		if cl.ClientSecret.IsSet() {
			cc.secretHash = hashSecret(cl.ClientSecret.Value())
		}
		setup.clients[cl.ClientID] = cc
	}
	issuers := cfg.Issuers()
	for _, base := range cfg.PublicURLs() {
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		if setup.views[strings.ToLower(u.Host)] != nil {
			continue
		}
		v := &view{base: base, issuer: setup.issuer}
		if slices.Contains(issuers, base) {
			v.issuer = base
		}
		v.minter = tokens.NewMinter(s.keys, v.issuer, cfg.Auth.TokenTTL)
		if v.metadata, v.openIDMetadata, err = buildMetadata(setup, v.issuer); err != nil {
			return nil, err
		}
		setup.views[strings.ToLower(u.Host)] = v
		if setup.canonical == nil {
			setup.canonical = v
		}
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.provider, s.loginCfg = provider, loginKey
		s.state.Store(setup)
	}, nil
}

// loginFingerprint identifies a login configuration without its secret value (only the
// reference), so a changed reference rebuilds the provider.
func loginFingerprint(l config.Login) string {
	var b strings.Builder
	if o := l.OIDC; o != nil {
		fmt.Fprintf(&b, "oidc:%s|%s|%s|%v|%s;", o.Issuer, o.ClientID, o.ClientSecret.Ref, o.Scopes, o.GroupsClaim)
	}
	for _, u := range l.DevUsers {
		fmt.Fprintf(&b, "dev:%s|%s|%s|%v;", u.Username, u.PasswordHash, u.Email, u.Groups)
	}
	return b.String()
}

// Register adds the authorization server's endpoints to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.serveMetadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveMetadata)
	mux.HandleFunc("GET /oauth/jwks", s.serveJWKS)
	mux.HandleFunc("POST /oauth/register", s.register)
	mux.HandleFunc("GET /oauth/authorize", s.authorize)
	mux.HandleFunc("POST /oauth/consent", s.consent)
	mux.HandleFunc("POST /oauth/token", s.token)
	mux.HandleFunc("POST /oauth/revoke", s.revoke)
	for _, route := range []string{"GET /oauth/callback", "POST /oauth/login"} {
		mux.HandleFunc(route, s.loginComplete)
	}
}

// mac binds a form to a pending authorization, so a consent form cannot be replayed for another
// one or forged from another site.
func (s *Server) mac(purpose, value string) string {
	m := hmac.New(sha256.New, s.sealKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) current(w http.ResponseWriter) *setup {
	setup := s.state.Load()
	if setup == nil {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the authorization server is not configured yet")
	}
	return setup
}

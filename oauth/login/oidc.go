package login

// The relying-party side uses github.com/coreos/go-oidc/v3 (with golang.org/x/oauth2): a small,
// well-kept library that does discovery, JWKS caching and ID token verification and nothing
// else. zitadel/oidc was the alternative, but it is a whole OpenID Provider framework; vmcp only
// needs to be a client of one (its tests do use zitadel's example OP as the real IdP).

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/vmcp-dev/vmcp/internal/config"
)

const (
	// purposeOIDC separates the sealed sign-in cookie from anything else sealed under the key.
	purposeOIDC = "vmcp/oauth/login oidc pending v1"
	// cookiePrefix + the IdP state names the cookie of one sign-in: a browser may have several
	// in flight (two MCP clients signing in at once) without one overwriting the other.
	cookiePrefix = "vmcp_login_"
	// exchangeTimeout bounds the work done while the browser waits on the callback: token
	// exchange, JWKS fetch, userinfo.
	exchangeTimeout = 20 * time.Second
)

// pending is one sign-in in progress, sealed into a cookie between Begin and Complete.
type pending struct {
	// State is the authorization server's state, returned by Complete.
	State string `json:"s"`
	// Verifier is the PKCE code verifier (RFC 7636); only its S256 challenge leaves vmcp.
	Verifier string `json:"v"`
	// Nonce must come back in the ID token (OIDC Core §3.1.2.1): it ties the token to this
	// sign-in, so a token minted for another one cannot be injected.
	Nonce string `json:"n"`
	// ID is the state parameter sent to the IdP; the callback must bring it back and it must
	// name this cookie, which binds the callback to the browser that started it (RFC 6749
	// §10.12).
	ID string `json:"i"`
}

type oidcProvider struct {
	issuer      string
	groupsClaim string
	cookiePath  string
	secure      bool
	disc        *discovery
	seal        *sealer
	client      *http.Client
	pages       pages
	log         *zap.Logger
}

func newOIDC(ctx context.Context, cfg config.OIDCLogin, base *url.URL, seal *sealer, pg pages, o options, log *zap.Logger) (*oidcProvider, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("login: auth.login.oidc needs issuer and client_id")
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !containsString(scopes, oidc.ScopeOpenID) {
		// Without it the provider runs plain OAuth and returns no ID token.
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	groupsClaim := cfg.GroupsClaim
	if groupsClaim == "" {
		groupsClaim = "groups"
	}
	callback := under(base, callbackPath)
	p := &oidcProvider{
		issuer:      cfg.Issuer,
		groupsClaim: groupsClaim,
		cookiePath:  callback.Path,
		secure:      base.Scheme == "https",
		seal:        seal,
		client:      o.httpClient,
		pages:       pg,
		log:         log,
	}
	secret := cfg.ClientSecret.Value()
	p.disc = &discovery{
		issuer: cfg.Issuer,
		client: o.httpClient,
		now:    o.now,
		log:    log,
		build: func(prov *oidc.Provider) *discovered {
			// The verifier checks signature, iss, aud = client_id and exp; the nonce is ours.
			verifier := prov.VerifierContext(oidc.ClientContext(context.Background(), o.httpClient),
				&oidc.Config{ClientID: cfg.ClientID, Now: o.now})
			return &discovered{
				oauth2: oauth2.Config{
					ClientID:     cfg.ClientID,
					ClientSecret: secret,
					Endpoint:     prov.Endpoint(),
					RedirectURL:  callback.String(),
					Scopes:       scopes,
				},
				verifier: verifier,
				provider: prov,
				userinfo: prov.UserInfoEndpoint() != "",
			}
		},
	}
	// One early attempt, so that a wrong issuer is reported at startup; an unreachable IdP
	// is only logged (New must not fail because the IdP is briefly down).
	if _, err := p.disc.get(ctx); err != nil {
		if m := (*issuerMismatch)(nil); errors.As(err, &m) {
			return nil, errors.New("login: " + m.Error())
		}
	}
	return p, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (p *oidcProvider) Routes() []string { return []string{"GET " + callbackPath} }

func (p *oidcProvider) Begin(w http.ResponseWriter, r *http.Request, state string) {
	if !validState(state) {
		p.log.Error("login: Begin called with an invalid state (a bug in the caller)")
		p.pages.renderProblem(w, http.StatusInternalServerError, "vmcp could not start signing you in. Start again from your application.")
		return
	}
	to, err := p.start(r.Context(), w, state)
	if err != nil {
		p.pages.renderProblem(w, http.StatusServiceUnavailable, p.unavailable())
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// unavailable is what the user reads when the IdP cannot be reached; the log says why.
func (p *oidcProvider) unavailable() string {
	return "vmcp cannot reach the sign-in provider (" + p.issuer + ") right now. " +
		"Try again in a minute; if this keeps happening, tell your administrator."
}

// start seals a new sign-in into a cookie and returns the IdP authorization URL for it.
func (p *oidcProvider) start(ctx context.Context, w http.ResponseWriter, state string) (string, error) {
	d, err := p.disc.get(ctx)
	if err != nil {
		return "", err
	}
	pl := pending{State: state, Verifier: oauth2.GenerateVerifier(), Nonce: randomToken(), ID: randomToken()}
	payload, err := json.Marshal(pl)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name:   cookiePrefix + pl.ID,
		Value:  p.seal.seal(purposeOIDC, payload, p.seal.now().Add(loginTTL)),
		Path:   p.cookiePath,
		MaxAge: int(loginTTL / time.Second),
		// Lax, not Strict: the IdP's redirect back is a cross-site top-level GET, which Strict
		// would strip the cookie from.
		SameSite: http.SameSiteLaxMode,
		HttpOnly: true,
		Secure:   p.secure,
	})
	return d.oauth2.AuthCodeURL(pl.ID, oauth2.S256ChallengeOption(pl.Verifier), oidc.Nonce(pl.Nonce)), nil
}

// Package login signs users in for vmcp's OAuth authorization server.
//
// When /oauth/authorize needs to know who the user is, the authorization server calls
// Provider.Begin with its own opaque state; the browser then visits the organisation's OpenID
// Connect provider (or, in `vmcp dev` only, a built-in user list) and comes back to the route
// Provider.Complete is mounted on, which returns the user and that same state.
//
// Nothing about a sign-in in progress is kept in server memory: the PKCE verifier, the nonce and
// the caller's state travel sealed (AES-GCM) in a short-lived cookie, so the browser may return
// to any replica.
package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// User is who signed in.
type User struct {
	// Subject is the identity provider's `sub` for OIDC users, "dev:"+username for dev users.
	Subject string
	Email   string
	Name    string
	Groups  []string
	// Provider is "oidc" or "dev".
	Provider string
}

// Provider signs a user in through the browser.
type Provider interface {
	// Begin starts sign-in for the pending authorization identified by state (opaque to the
	// provider, at most 128 URL-safe chars). It writes the response: a redirect to the IdP, or
	// the dev login page.
	Begin(w http.ResponseWriter, r *http.Request, state string)
	// Complete handles the browser's return — GET /oauth/callback from the IdP, or the dev login
	// form's POST /oauth/login — and returns the user and the state given to Begin. On failure
	// it returns an error safe to show the user (no tokens, no secrets), an *Error; the state is
	// returned with it whenever it could be authenticated, so the caller can report the failure
	// to the OAuth client's redirect_uri. On a wrong dev password it re-renders the form itself
	// and returns ErrShown.
	Complete(w http.ResponseWriter, r *http.Request) (User, string, error)
	// Routes lists the paths Complete must be mounted on (e.g. "GET /oauth/callback"), as
	// net/http ServeMux patterns.
	Routes() []string
}

// ErrShown means Complete has already written the response (the dev form again, with a message):
// the caller must write nothing more and must not complete the authorization.
var ErrShown = errors.New("login: response already written")

// Error is a sign-in failure whose Message is safe to show the user: it never carries a token, a
// secret, or an identity provider's raw response (those go to the log).
type Error struct {
	// Code is the RFC 6749 §4.1.2.1 error code the authorization server can send to the client
	// when Complete returned the state too: access_denied, server_error or
	// temporarily_unavailable.
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// The routes Complete serves. They hang off the public URL, like the rest of /oauth.
const (
	callbackPath = "/oauth/callback"
	loginPath    = "/oauth/login"
)

// loginTTL bounds how long a started sign-in (sealed cookie, dev form) stays usable: long enough
// for a password manager and an MFA prompt, short enough that a leaked cookie soon goes stale.
const loginTTL = 10 * time.Minute

// New returns the provider that cfg describes. publicURL is the scheme://host[:port][/path] the
// browser reaches vmcp on; dev reports whether this is `vmcp dev`, the only mode in which
// built-in users are allowed. New does not fail because the identity provider is unreachable:
// discovery is retried when a user next signs in.
func New(ctx context.Context, cfg config.Login, publicURL string, dev bool, log *zap.Logger, opts ...Option) (Provider, error) {
	if log == nil {
		log = zap.NewNop()
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if len(cfg.DevUsers) > 0 && !dev {
		return nil, errors.New("login: dev_users is for `vmcp dev` only; configure auth.login.oidc")
	}
	if cfg.OIDC == nil && len(cfg.DevUsers) == 0 {
		if dev {
			return nil, errors.New("login: no way to sign users in: configure auth.login.oidc " +
				"(your organisation's OpenID Connect provider) or, for `vmcp dev`, auth.login.dev_users")
		}
		return nil, errors.New("login: no way to sign users in: configure auth.login.oidc " +
			"(issuer, client_id, client_secret of your organisation's OpenID Connect provider)")
	}
	base, err := parsePublicURL(publicURL)
	if err != nil {
		return nil, err
	}
	keys, err := o.keys(dev, log)
	if err != nil {
		return nil, err
	}
	seal, err := newSealer(keys.seal, o.now)
	if err != nil {
		return nil, err
	}

	pg := parsePages()
	var idp *oidcProvider
	if cfg.OIDC != nil {
		idp, err = newOIDC(ctx, *cfg.OIDC, base, seal, pg, o, log)
		if err != nil {
			return nil, err
		}
	}
	if len(cfg.DevUsers) == 0 {
		return idp, nil
	}
	return newDev(cfg.DevUsers, base, newCSRF(keys.csrf, o.now), idp, pg, log)
}

// parsePublicURL checks the public URL once, so that every redirect URL and form action built
// from it is absolute.
func parsePublicURL(publicURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(publicURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("login: public URL %q must be an absolute http(s) URL", publicURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("login: public URL %q must not have a query or fragment", publicURL)
	}
	return u, nil
}

// under returns the public URL with path appended. (url.JoinPath would drop the leading slash
// of a path joined to a URL without one, which matters for cookie paths.)
func under(base *url.URL, path string) *url.URL {
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + path
	u.RawPath = ""
	return &u
}

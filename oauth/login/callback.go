package login

// The IdP's redirect back: check it belongs to the sign-in this browser started, redeem the code
// with the PKCE verifier, verify the ID token and its nonce, read the user.

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

// Failures the user may see. None says which check failed: that is for the log.
var (
	errStale = &Error{Code: "access_denied", Message: "This sign-in has expired or was started in another " +
		"browser. Start again from your application."}
	errRejected = &Error{Code: "access_denied", Message: "The sign-in provider's answer could not be " +
		"verified. Start again from your application."}
	errNotRoute = &Error{Code: "server_error", Message: "This is not a sign-in response."}
)

func (p *oidcProvider) Complete(w http.ResponseWriter, r *http.Request) (User, string, error) {
	if r.Method != http.MethodGet {
		return User{}, "", errNotRoute
	}
	q := r.URL.Query()
	pl, err := p.takePending(w, r, q.Get("state"))
	if err != nil {
		p.log.Info("login: OIDC callback refused", zap.Error(err))
		return User{}, "", errStale
	}
	if code := q.Get("error"); code != "" {
		// error_description is the IdP's text (or whoever crafted the URL): log, don't show.
		p.log.Info("login: identity provider returned an error", zap.String("error", code),
			zap.String("description", truncate(q.Get("error_description"), 200)))
		return User{}, pl.State, idpError(code)
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	ctx = oidc.ClientContext(ctx, p.client)
	u, err := p.redeem(ctx, q.Get("code"), pl)
	if err != nil {
		var shown *Error
		if errors.As(err, &shown) {
			return User{}, pl.State, shown
		}
		p.log.Warn("login: OIDC sign-in failed", zap.String("issuer", p.issuer), zap.Error(err))
		return User{}, pl.State, errRejected
	}
	p.log.Info("login: user signed in", zap.String("provider", "oidc"), zap.String("subject", u.Subject))
	return u, pl.State, nil
}

// takePending reads, clears and opens the cookie that the IdP state id names.
func (p *oidcProvider) takePending(w http.ResponseWriter, r *http.Request, id string) (pending, error) {
	// The id names a cookie, so it must look like one of ours before it is used as a name.
	if len(id) != len(randomToken()) || !validState(id) {
		return pending{}, errors.New("state parameter missing or malformed")
	}
	c, err := r.Cookie(cookiePrefix + id)
	if err != nil {
		return pending{}, errors.New("no sign-in cookie for this state (expired, or another browser)")
	}
	// One use only, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: c.Name, Path: p.cookiePath, MaxAge: -1, HttpOnly: true,
		Secure: p.secure, SameSite: http.SameSiteLaxMode})
	payload, err := p.seal.open(purposeOIDC, c.Value)
	if err != nil {
		return pending{}, errors.New("sign-in cookie altered or expired")
	}
	var pl pending
	if err := json.Unmarshal(payload, &pl); err != nil {
		return pending{}, errors.New("sign-in cookie unreadable")
	}
	if subtle.ConstantTimeCompare([]byte(pl.ID), []byte(id)) != 1 {
		return pending{}, errors.New("sign-in cookie belongs to another sign-in")
	}
	return pl, nil
}

// redeem exchanges the code (with the PKCE verifier), verifies the ID token and reads the user.
// Its errors are logged, not shown, unless they are an *Error.
func (p *oidcProvider) redeem(ctx context.Context, code string, pl pending) (User, error) {
	if code == "" {
		return User{}, errors.New("callback without a code")
	}
	d, err := p.disc.get(ctx)
	if err != nil {
		return User{}, &Error{Code: "temporarily_unavailable", Message: p.unavailable()}
	}
	tok, err := d.oauth2.Exchange(ctx, code, oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		return User{}, redactedExchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return User{}, errors.New("token response has no id_token (is the openid scope allowed for this client?)")
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return User{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pl.Nonce)) != 1 {
		return User{}, errors.New("ID token nonce does not match this sign-in")
	}
	idc, err := decodeClaims(idt)
	if err != nil {
		return User{}, err
	}
	if idt.Subject == "" {
		return User{}, errors.New("ID token has no sub")
	}
	var infoc claims
	if d.userinfo && needsUserinfo(idc, p.groupsClaim) {
		info, err := d.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			// Fail closed: without the groups a deny-by-group policy would not apply.
			return User{}, errors.New("userinfo request failed: " + truncate(err.Error(), 300))
		}
		// OIDC Core §5.3.2: the userinfo sub must be the ID token's, or the response is not
		// about this user.
		if info.Subject != idt.Subject {
			return User{}, errors.New("userinfo sub differs from the ID token's")
		}
		if infoc, err = decodeClaims(info); err != nil {
			return User{}, err
		}
	}
	u, err := userFrom(idc, infoc, p.groupsClaim)
	if err != nil {
		p.log.Warn("login: cannot read the user's groups; check auth.login.oidc.groups_claim",
			zap.String("issuer", p.issuer), zap.String("groups_claim", p.groupsClaim), zap.Error(err))
		return User{}, &Error{Code: "server_error", Message: "The sign-in provider sent group " +
			"memberships vmcp cannot read. Tell your administrator."}
	}
	return u, nil
}

// redactedExchangeError keeps the IdP's error code and description from a failed token
// exchange and drops the rest of the raw response body.
func redactedExchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return errors.New("token exchange refused: " + re.ErrorCode + " " + truncate(re.ErrorDescription, 200))
	}
	return errors.New("token exchange failed: " + truncate(err.Error(), 300))
}

// idpError maps the IdP's error code to what the user and the client are told.
func idpError(code string) *Error {
	switch code {
	case "temporarily_unavailable", "server_error":
		return &Error{Code: code, Message: "The sign-in provider could not sign you in right now. Try again in a minute."}
	default:
		return &Error{Code: "access_denied", Message: "The sign-in provider did not sign you in (" +
			sanitizeCode(code) + ")."}
	}
}

// sanitizeCode keeps an error code to the RFC 6749 error character set, so a crafted one cannot
// carry a message of its own.
func sanitizeCode(code string) string {
	code = truncate(code, 64)
	return strings.Map(func(r rune) rune {
		if r >= 0x20 && r <= 0x7e && r != '"' && r != '\\' {
			return r
		}
		return -1
	}, code)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

package usercred

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// RFC 8693 token type identifiers.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAccessToken    = "urn:ietf:params:oauth:token-type:access_token"
	typeJWT            = "urn:ietf:params:oauth:token-type:jwt"
)

// assertionTTL is the lifetime of the vmcp-signed subject token sent to a token service: it is
// used once, right away.
const assertionTTL = time.Minute

// exchange trades the caller's identity for a connector token at the token service (RFC 8693
// §2.1). The subject token is the caller's own IdP access token when they came with one (the
// IdP's token service trusts its own tokens); otherwise a short-lived JWT naming the caller,
// signed by vmcp (verifiable with vmcp's JWKS) and addressed to the token service.
func (r *Resolver) exchange(ctx context.Context, strategies *strategies, s *strategy, caller Caller) (_ []credential.Header, _ time.Time, err error) {
	ctx, span := tracing.StartClient(ctx, "token exchange")
	defer func() { span.Error(err); span.End() }()
	subjectToken, subjectType := caller.SubjectToken, typeAccessToken
	if subjectToken == "" {
		jwt, err := tokens.NewMinter(r.keys, strategies.issuer, assertionTTL).Mint(tokens.Claims{Subject: caller.Subject, Email: caller.Email, Groups: caller.Groups, Audience: s.tokenURL})
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("connector %q: subject token: %w", s.name, err)
		}
		subjectToken, subjectType = jwt, typeJWT
	}
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"subject_token":        {subjectToken},
		"subject_token_type":   {subjectType},
		"requested_token_type": {typeAccessToken},
	}
	if s.audience != "" {
		form.Set("audience", s.audience)
	}
	if s.scope != "" {
		form.Set("scope", s.scope)
	}
	// RFC 8707 resource: the token is for this connector.
	form.Set("resource", s.url)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("connector %q: token exchange: %w", s.name, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	tracing.Inject(ctx, req.Header)
	if s.clientID != "" {
		// RFC 6749 §2.3.1: form-encode before Basic.
		req.SetBasicAuth(url.QueryEscape(s.clientID), url.QueryEscape(s.clientSecret))
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("connector %q: token exchange: %w", s.name, err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
	}
	// The body is read but never quoted: an error answer may echo what was sent.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		return nil, time.Time{}, fmt.Errorf("connector %q: token exchange refused (HTTP %d %s)", s.name, resp.StatusCode, safeCode(out.Error))
	}
	var exp time.Time
	if out.ExpiresIn > 0 {
		exp = r.now().Add(time.Duration(out.ExpiresIn) * time.Second)
	}
	return bearer(out.AccessToken), exp, nil
}

// safeCode keeps an OAuth error code to its RFC 6749 character set and a sane length.
func safeCode(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r == '_' {
			return r
		}
		return -1
	}, s)
}

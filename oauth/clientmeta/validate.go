package clientmeta

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Bounds on a document's contents. The fetch size limit already bounds the whole; these keep a
// consent page and an authorization request's lookups sane.
const (
	maxClientName   = 256
	maxRedirectURIs = 32
	maxScopeLength  = 1024
)

// Grant and response types vmcp's authorization server serves to a public client: the
// authorization code flow with PKCE and refresh (MCP 2025-11-25 authorization; OAuth 2.1 drops
// implicit and password).
var (
	allowedGrantTypes    = []string{"authorization_code", "refresh_token"}
	allowedResponseTypes = []string{"code"}
)

func (d *Document) validate(clientID string) error {
	// CIMD-00 §4.1: client_id MUST match the document's URL by simple string comparison (RFC 3986
	// §6.2.1); MCP 2025-11-25: the authorization server MUST check it. The value is not quoted:
	// it comes from the fetched body.
	if d.ClientID == "" {
		return reason("client_id is missing")
	}
	if d.ClientID != clientID {
		return reason("client_id does not match the URL the document was fetched from")
	}
	// MCP 2025-11-25, Client ID Metadata Documents: the document MUST include at least client_id,
	// client_name and redirect_uris. The name is shown on the consent page, so no control or
	// bidirectional-override characters that could disguise it.
	if d.ClientName == "" {
		return reason("client_name is missing")
	}
	if len(d.ClientName) > maxClientName {
		return reason(fmt.Sprintf("client_name is longer than %d bytes", maxClientName))
	}
	if hasDisplayTrick(d.ClientName) {
		return reason("client_name contains control or bidirectional formatting characters")
	}
	if len(d.RedirectURIs) == 0 {
		return reason("redirect_uris is missing or empty")
	}
	if len(d.RedirectURIs) > maxRedirectURIs {
		return reason(fmt.Sprintf("redirect_uris has more than %d entries", maxRedirectURIs))
	}
	for i, r := range d.RedirectURIs {
		if err := checkRedirectURI(r); err != nil {
			return reason(fmt.Sprintf("redirect_uris[%d] %s", i, err))
		}
	}
	// CIMD-00 §4.1: no method based on a shared secret; the same clause lets other
	// specifications require "none", and vmcp does: its clients are public clients using PKCE,
	// and it implements no private_key_jwt verification (CIMD-00 §6.2).
	if m := d.TokenEndpointAuthMethod; m != "" && m != "none" {
		return reason(`token_endpoint_auth_method must be "none" (or absent)`)
	}
	if d.GrantTypes != nil {
		if err := checkSubset(memberGrantTypes, d.GrantTypes, allowedGrantTypes); err != nil {
			return err
		}
		// RFC 7591 §2.1: grant types and response types must agree; without authorization_code
		// the client could never obtain a code from vmcp.
		if !slices.Contains(d.GrantTypes, "authorization_code") {
			return reason("grant_types must include authorization_code")
		}
	}
	if d.ResponseTypes != nil {
		if err := checkSubset(memberRespTypes, d.ResponseTypes, allowedResponseTypes); err != nil {
			return err
		}
	}
	// CIMD-02 §8.6: parse only URLs with known schemes (a javascript: logo_uri is the example);
	// both are shown to the user, so https only.
	for _, f := range []struct{ name, value string }{
		{memberClientURI, d.ClientURI},
		{memberLogoURI, d.LogoURI},
	} {
		if f.value == "" {
			continue
		}
		if err := checkDisplayURL(f.value); err != nil {
			return reason(f.name + " " + err.Error())
		}
	}
	if err := checkScope(d.Scope); err != nil {
		return err
	}
	return nil
}

// checkRedirectURI applies the redirect URI rules. The authorization server later compares a
// request's redirect_uri with these by exact string (CIMD-00 §4.5, RFC 9700 §4.1.3).
func checkRedirectURI(s string) error {
	u, err := parseAbsolute(s)
	if err != nil {
		return err
	}
	// RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
	if strings.Contains(s, "#") {
		return reason("must not contain a fragment")
	}
	// MCP 2025-11-25, Communication Security: all redirect URIs MUST be either localhost or use
	// HTTPS; RFC 8252 §7.3 is the loopback form for native apps. Custom schemes (RFC 8252 §7.1)
	// are therefore refused.
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	default:
		return reason("must use https, or http only on a loopback host")
	}
	return checkHost(u)
}

// checkDisplayURL applies the rules for URLs that are displayed or fetched (client_uri, logo_uri).
func checkDisplayURL(s string) error {
	u, err := parseAbsolute(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" {
		return reason("must use https")
	}
	return checkHost(u)
}

// parseAbsolute parses an absolute URL with no user information: "https://good@evil"
// reads as good to a person and as evil to a browser.
func parseAbsolute(s string) (*url.URL, error) {
	if len(s) > MaxURLLength {
		return nil, reason(fmt.Sprintf("is longer than %d bytes", MaxURLLength))
	}
	if err := checkURLChars(s); err != nil {
		return nil, err
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, reason("is not an absolute URL")
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return nil, reason("must not contain a username or password")
	}
	return u, nil
}

func checkHost(u *url.URL) error {
	if u.Hostname() == "" {
		return reason("has no host")
	}
	return nil
}

// isLoopbackHost: RFC 8252 §7.3 names 127.0.0.1 and [::1]; §8.3 discourages "localhost" but MCP
// 2025-11-25's own example document uses http://localhost:3000/callback, so it is accepted.
func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// checkScope applies RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E, separated by
// single spaces.
func checkScope(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxScopeLength {
		return reason(fmt.Sprintf("scope is longer than %d bytes", maxScopeLength))
	}
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			return reason("scope has an empty scope-token")
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
				return reason("scope has a character RFC 6749 §3.3 does not allow")
			}
		}
	}
	return nil
}

func checkSubset(name string, got, allowed []string) error {
	if len(got) == 0 {
		return reason(name + " is empty")
	}
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			return reason(fmt.Sprintf("%s may only contain %s", name, strings.Join(allowed, ", ")))
		}
	}
	return nil
}

// hasDisplayTrick reports control characters and the bidirectional formatting characters
// (Unicode TR9: LRE…RLO, LRI…PDI) that can make a displayed name read as another.
func hasDisplayTrick(s string) bool {
	for _, r := range s {
		switch {
		case r < 0x20, r >= 0x7f && r < 0xa0:
			return true
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return true
		case r == 0xfffd:
			// encoding/json's stand-in for an unpaired surrogate escape: the name was not text.
			return true
		}
	}
	return false
}

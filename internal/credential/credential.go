// Package credential turns a connector's configured credential into the request headers that
// carry it. Headers are computed once per configuration load, not per request.
package credential

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// Header is one header to set on a connector-bound request. Value may be a secret: never log it.
type Header struct {
	Name  string
	Value string
}

// String keeps a header's value out of any accidental %v.
func (h Header) String() string { return h.Name + ": " + config.Redacted }

// GoString keeps the value out of %#v too, which would otherwise print every field.
func (h Header) GoString() string {
	return fmt.Sprintf("credential.Header{Name: %q, Value: %q}", h.Name, config.Redacted)
}

// Headers returns the headers that authenticate vmcp to a connector.
func Headers(c config.Credential) ([]Header, error) {
	var hs []Header
	switch c.Type {
	case config.CredentialNone, config.CredentialQuery, "":
		return nil, nil
	case config.CredentialOAuth, config.CredentialTokenExchange, config.CredentialIdentityAssertion:
		// Per-user: resolved on each call for the calling user (internal/usercred).
		return nil, nil
	case config.CredentialBearer:
		hs = []Header{{Name: "authorization", Value: "Bearer " + c.Token.Value()}}
	case config.CredentialHeader:
		if !isToken(c.Header) {
			return nil, fmt.Errorf("credential header name %q is not a valid header name", c.Header)
		}
		hs = []Header{{Name: strings.ToLower(c.Header), Value: c.Token.Value()}}
	case config.CredentialBasic:
		// RFC 7617 §2: the user-id cannot contain a colon; the first colon ends it.
		if strings.Contains(c.Username, ":") {
			return nil, fmt.Errorf("basic credential username must not contain ':'")
		}
		raw := c.Username + ":" + c.Password.Value()
		hs = []Header{{Name: "authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}}
	default:
		return nil, fmt.Errorf("unknown credential type %q", c.Type)
	}
	for _, h := range hs {
		// A secret file with an inner or second trailing newline would otherwise become a
		// header value Envoy rejects, or a second header smuggled into the request.
		if i := strings.IndexFunc(h.Value, isControl); i >= 0 {
			return nil, fmt.Errorf("credential for header %q contains a control character (at byte %d); check the secret for stray newlines", h.Name, i)
		}
	}
	return hs, nil
}

// isControl reports the characters RFC 9110 §5.5 does not allow in a field value (HTAB is
// allowed).
func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// isToken reports whether s is an RFC 9110 token, the shape of a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// QueryParam returns the query parameter that authenticates vmcp to a connector (credential type
// query), and false for every other type. Its value is a secret: never log the URL it is put in.
func QueryParam(c config.Credential) (Header, bool, error) {
	if c.Type != config.CredentialQuery {
		return Header{}, false, nil
	}
	v := c.Token.Value()
	if i := strings.IndexFunc(v, isControl); i >= 0 {
		return Header{}, false, fmt.Errorf("credential for query parameter %q contains a control character (at byte %d); check the secret for stray newlines", c.Param, i)
	}
	return Header{Name: c.Param, Value: v}, true, nil
}

// WithQueryParam returns path (a request's :path, query included) with the parameter set,
// replacing any value the client put there: a client must not choose the connector's key.
func WithQueryParam(path string, p Header) string {
	base, rawQuery, _ := strings.Cut(path, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		q = url.Values{}
	}
	q.Set(p.Name, p.Value)
	return base + "?" + q.Encode()
}

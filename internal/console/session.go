package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vmcp-dev/vmcp/internal/csrf"
)

// cookieName is the console's session cookie. The __Host- prefix would pin it to the host and
// path "/", but the console lives under /console/ and may sit behind a plain-http dev URL, where
// browsers refuse __Host- cookies; the attributes below give the same protection there.
const cookieName = "vmcp_console"

// sessionTTL bounds a console sign-in: a working day (or auth.sign_in_max_age if shorter), after
// which the browser signs in again (and picks up group changes from the identity provider).
const sessionTTL = 8 * time.Hour

// session is who the browser signed in as. It travels in the cookie, signed (HMAC-SHA256), not
// encrypted: it holds nothing secret, and keeping it client-side lets any replica serve the
// console without shared session state.
type session struct {
	Subject string   `json:"sub"`
	Email   string   `json:"email,omitempty"`
	Name    string   `json:"name,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Expires int64    `json:"exp"`
	// Nonce is random per sign-in; the CSRF token is derived from it, so a token is worthless
	// for any other sign-in.
	Nonce string `json:"nonce"`
}

// codec signs and checks session cookies and CSRF tokens with one 32-byte key.
type codec struct {
	key []byte
	now func() time.Time
}

var errSession = errors.New("console: no valid session")

func (c codec) mac(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(data)
	return m.Sum(nil)
}

// encode returns the cookie value for s: base64url(JSON) "." base64url(MAC).
func (c codec) encode(s session) string {
	body, _ := json.Marshal(s) // a struct of strings and an int64 always marshals
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(c.mac("session", body))
}

// decode checks the signature before looking at the content, and the expiry after.
func (c codec) decode(v string) (*session, error) {
	b64, sig64, ok := strings.Cut(v, ".")
	if !ok {
		return nil, errSession
	}
	body, err1 := base64.RawURLEncoding.DecodeString(b64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, c.mac("session", body)) {
		return nil, errSession
	}
	var s session
	if err := json.Unmarshal(body, &s); err != nil || s.Subject == "" || s.Nonce == "" {
		return nil, errSession
	}
	if c.now().Unix() >= s.Expires {
		return nil, errSession
	}
	return &s, nil
}

// csrf is the token every POST form of s must carry (package csrf), bound to the sign-in's
// nonce.
func (c codec) csrf(s *session) string { return csrf.Token(c.key, s.Nonce) }

func (c codec) validCSRF(s *session, token string) bool { return csrf.Valid(c.key, s.Nonce, token) }

// newNonce returns 16 random bytes, base64url.
func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b) // crypto/rand.Read never fails on Linux (and panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookie builds the session cookie: HttpOnly (no script reads it), SameSite=Lax (sent on the
// identity provider's redirect back, not on cross-site subresource requests or POSTs), Secure
// when the console is served over https, and scoped to the console's path.
func cookie(value string, expires time.Time, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name: cookieName, Value: value, Path: Prefix, HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, Expires: expires,
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

package connections

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// A signed value is base64url(JSON) "." base64url(HMAC-SHA256(purpose, payload)): connect links
// (tickets) and the connect flow's browser session. Neither holds a secret, only facts that must
// not be forged; the purpose keeps one from being passed off as the other.
type signer struct {
	key []byte
	now func() time.Time
}

// claims are what a signed value says.
type claims struct {
	Subject   string `json:"s"`
	Email     string `json:"m,omitempty"`
	Connector string `json:"c,omitempty"`
	Expiry    int64  `json:"e"`
	// Nonce is random per browser sign-in: the connect flow's CSRF tokens are bound to it.
	Nonce string `json:"n,omitempty"`
}

const (
	purposeTicket  = "vmcp-connect-ticket"
	purposeBrowser = "vmcp-connect-browser"
)

var errBadSigned = errors.New("not a valid signed value")

func (s signer) sign(purpose string, c claims) string {
	payload, _ := json.Marshal(c)
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + s.mac(purpose, body)
}

func (s signer) mac(purpose, body string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s signer) verify(purpose, v string) (claims, error) {
	body, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac(purpose, body))) {
		return claims{}, errBadSigned
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	var c claims
	if err != nil || json.Unmarshal(payload, &c) != nil || c.Subject == "" {
		return claims{}, errBadSigned
	}
	if s.now().Unix() > c.Expiry {
		return claims{}, errors.New("expired")
	}
	return c, nil
}

package tokens

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Claims are the facts an access token asserts about its holder.
type Claims struct {
	Subject  string
	Email    string
	Groups   []string
	ClientID string
	Scope    string
	// Audience is the virtual server's resource URL.
	Audience string
	// ID is the token's jti, set by Verify (Mint makes a fresh one): what revoking one access
	// token names.
	ID string
	// Family is the fid claim: a digest of the refresh family the token was issued from, so
	// that revoking the family (RFC 7009, or refresh token reuse) revokes its access tokens too.
	// Empty for tokens issued without a refresh token.
	Family string
	// Expiry is set by Verify; Mint derives it from the minter's lifetime.
	Expiry time.Time
	// All holds every verified claim, set by Verify, for policies to read.
	All map[string]any
}

// FamilyClaim names the claim that carries Claims.Family.
const FamilyClaim = "fid"

// Minter issues access tokens.
type Minter struct {
	keys   *Keys
	issuer string
	ttl    time.Duration
	now    func() time.Time
}

// NewMinter returns a minter for issuer with the given token lifetime.
func NewMinter(keys *Keys, issuer string, ttl time.Duration) *Minter {
	return &Minter{keys: keys, issuer: issuer, ttl: ttl, now: time.Now}
}

// Mint signs an access token for c.
func (m *Minter) Mint(c Claims) (string, error) {
	if c.Subject == "" || c.Audience == "" {
		return "", fmt.Errorf("tokens: subject and audience are required")
	}
	now := m.now()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	b := jwt.NewBuilder().
		Issuer(m.issuer).
		Subject(c.Subject).
		Audience([]string{c.Audience}).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(m.ttl)).
		JwtID(hex.EncodeToString(jti))
	if c.Email != "" {
		b = b.Claim("email", c.Email)
	}
	if len(c.Groups) > 0 {
		b = b.Claim("groups", c.Groups)
	}
	if c.ClientID != "" {
		b = b.Claim("client_id", c.ClientID)
	}
	if c.Scope != "" {
		b = b.Claim("scope", c.Scope)
	}
	if c.Family != "" {
		b = b.Claim(FamilyClaim, c.Family)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("tokens: build: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, m.keys.signing()))
	if err != nil {
		return "", fmt.Errorf("tokens: sign: %w", err)
	}
	return string(signed), nil
}

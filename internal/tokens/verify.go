package tokens

import (
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Verifier checks access tokens issued by one issuer against its public keys.
type Verifier struct {
	keys   jwk.Set
	issuer string
	leeway time.Duration
}

// NewVerifier returns a verifier for tokens from issuer signed by a key in keys. Only the
// algorithm each key declares is accepted, so "none" and HS256-with-a-public-key forgeries fail.
func NewVerifier(keys jwk.Set, issuer string, leeway time.Duration) *Verifier {
	return &Verifier{keys: keys, issuer: issuer, leeway: leeway}
}

// ErrInvalidToken wraps every verification failure; its message is safe to show a client (it
// never includes the token).
var ErrInvalidToken = errors.New("invalid token")

// Verify parses and validates token for audience, returning its claims.
func (v *Verifier) Verify(token, audience string) (Claims, error) {
	tok, err := jwt.ParseString(token,
		jwt.WithKeySet(v.keys, jws.WithRequireKid(true)),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(audience),
		jwt.WithAcceptableSkew(v.leeway),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %s", ErrInvalidToken, describe(err))
	}
	c := Claims{Subject: tok.Subject(), Audience: audience, Expiry: tok.Expiration()}
	if v, ok := tok.Get("email"); ok {
		c.Email, _ = v.(string)
	}
	if v, ok := tok.Get("client_id"); ok {
		c.ClientID, _ = v.(string)
	}
	if v, ok := tok.Get("scope"); ok {
		c.Scope, _ = v.(string)
	}
	if v, ok := tok.Get("groups"); ok {
		if list, ok := v.([]any); ok {
			for _, g := range list {
				if s, ok := g.(string); ok {
					c.Groups = append(c.Groups, s)
				}
			}
		}
	}
	return c, nil
}

// describe turns a jwx error into a short reason for error_description, dropping anything that
// might echo token content.
func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired()):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotYetValid()):
		return "token not yet valid"
	case errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrInvalidAudience()):
		return "token audience is not this virtual server"
	case errors.Is(err, jwt.ErrInvalidIssuer()):
		return "token issuer is not trusted"
	default:
		return "token signature or format is invalid"
	}
}

package tokens

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Verifier checks access tokens issued by one issuer against its public keys.
type Verifier struct {
	keys   jwk.Set
	issuer string
	leeway time.Duration
	// algs, when set, is the allow-list of header algorithms; keys without an "alg" then get
	// theirs inferred from the key type (an RSA key never verifies an HS256 token).
	algs map[jwa.SignatureAlgorithm]bool
	now  func() time.Time
}

// NewVerifier returns a verifier for tokens from issuer signed by a key in keys. Only the
// algorithm each key declares is accepted, so "none" and HS256-with-a-public-key forgeries fail.
func NewVerifier(keys jwk.Set, issuer string, leeway time.Duration) *Verifier {
	return &Verifier{keys: keys, issuer: issuer, leeway: leeway, now: time.Now}
}

// WithClock returns a copy of v that validates times against now.
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	c := *v
	c.now = now
	return &c
}

// WithAlgorithms returns a copy of v that accepts only the given JWS algorithms, for keys from
// an external JWKS that may not declare their own.
func (v *Verifier) WithAlgorithms(algs []string) *Verifier {
	c := *v
	c.algs = make(map[jwa.SignatureAlgorithm]bool, len(algs))
	for _, a := range algs {
		c.algs[jwa.SignatureAlgorithm(a)] = true
	}
	return &c
}

// Errors returned by Verify. Every failure wraps ErrInvalidToken, whose text is safe to show a
// client (it never includes the token); a token signed by a key the set lacks also wraps
// ErrUnknownKey, so the caller can refresh the keys and try again.
var (
	ErrInvalidToken = errors.New("invalid token")
	ErrUnknownKey   = errors.New("token signed by an unknown key")
)

// InvalidError is a token refused for a reason safe to tell the client and to record: it never
// holds the token. It is ErrInvalidToken (errors.Is).
type InvalidError struct {
	Reason string
	// cause is a sentinel beside ErrInvalidToken (ErrUnknownKey), for errors.Is.
	cause error
}

func (e *InvalidError) Error() string { return ErrInvalidToken.Error() + ": " + e.Reason }

// Is makes every InvalidError an ErrInvalidToken, and one for an unknown key an ErrUnknownKey.
func (e *InvalidError) Is(target error) bool {
	return target == ErrInvalidToken || e.cause != nil && target == e.cause
}

// Invalid refuses a token for reason: a sentence for the client (no token in it).
func Invalid(reason string) error { return &InvalidError{Reason: reason} }

func invalid(reason string) error { return Invalid(reason) }

// Verify parses and validates token for one of audiences (the spellings of one resource's
// identifier), returning its claims; Claims.Audience is the audience it matched.
func (v *Verifier) Verify(token string, audiences ...string) (Claims, error) {
	if len(audiences) == 0 {
		return Claims{}, invalid("token audience is not this virtual server")
	}
	msg, err := jws.ParseString(token)
	if err != nil {
		return Claims{}, invalid("token signature or format is invalid")
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return Claims{}, invalid("token must carry exactly one signature")
	}
	hdr := sigs[0].ProtectedHeaders()
	alg := hdr.Algorithm()
	if alg == jwa.NoSignature || (v.algs != nil && !v.algs[alg]) {
		return Claims{}, invalid("token signing algorithm is not accepted")
	}
	if hdr.KeyID() == "" {
		return Claims{}, invalid("token has no key id")
	}
	if _, ok := v.keys.LookupKeyID(hdr.KeyID()); !ok {
		return Claims{}, &InvalidError{Reason: ErrUnknownKey.Error(), cause: ErrUnknownKey}
	}
	keyOpts := []any{jws.WithRequireKid(true)}
	if v.algs != nil {
		keyOpts = append(keyOpts, jws.WithInferAlgorithmFromKey(true))
	}
	tok, err := jwt.ParseString(token,
		jwt.WithKeySet(v.keys, keyOpts...),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.issuer),
		jwt.WithValidator(audienceIn(audiences)),
		jwt.WithAcceptableSkew(v.leeway),
		jwt.WithClock(jwt.ClockFunc(v.now)),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	)
	if err != nil {
		return Claims{}, invalid(describe(err))
	}
	if tok.Subject() == "" {
		return Claims{}, invalid("token has an empty subject")
	}
	// The JWT library skips its exp check when exp is 0 (the Unix epoch): such a token would
	// never expire (found by FuzzVerifySignedClaims). Checked here whatever the library does.
	if !tok.Expiration().Add(v.leeway).After(v.now()) {
		return Claims{}, invalid("token expired")
	}
	all, err := tok.AsMap(context.Background())
	if err != nil {
		return Claims{}, invalid("token claims are unreadable")
	}
	c := Claims{Subject: tok.Subject(), Audience: matchedAudience(tok.Audience(), audiences), Expiry: tok.Expiration(), All: all}
	c.Email, _ = all["email"].(string)
	c.ClientID, _ = all["client_id"].(string)
	c.Scope, _ = all["scope"].(string)
	c.ID = tok.JwtID()
	c.Family, _ = all[FamilyClaim].(string)
	c.Groups = StringList(all["groups"])
	return c, nil
}

// audienceIn accepts a token whose aud names any of audiences (RFC 7519 §4.1.3: aud is a list,
// and the token is for this resource when one of its entries identifies it).
func audienceIn(audiences []string) jwt.Validator {
	return jwt.ValidatorFunc(func(_ context.Context, t jwt.Token) jwt.ValidationError {
		if matchedAudience(t.Audience(), audiences) == "" {
			return jwt.ErrInvalidAudience()
		}
		return nil
	})
}

func matchedAudience(aud, audiences []string) string {
	for _, a := range aud {
		if slices.Contains(audiences, a) {
			return a
		}
	}
	return ""
}

// StringList reads a claim that should be a list of strings (or one string); anything else
// yields nothing.
func StringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
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
	case errors.Is(err, jwt.ErrRequiredClaim()):
		// The signature was good; telling the client it was not sends it looking in the
		// wrong place.
		return "token lacks a required claim (sub, exp)"
	default:
		return "token signature or format is invalid"
	}
}

// VerifySignature checks only that token is signed by a key in keys and reads its claims: no
// issuer, audience or time checks. It is for revocation (RFC 7009), where an expired or
// foreign-audience token is still worth naming, never for granting access.
func VerifySignature(keys jwk.Set, token string) (Claims, error) {
	tok, err := jwt.ParseString(token, jwt.WithKeySet(keys, jws.WithRequireKid(true)), jwt.WithValidate(false))
	if err != nil {
		return Claims{}, invalid("token signature or format is invalid")
	}
	all, err := tok.AsMap(context.Background())
	if err != nil {
		return Claims{}, invalid("token claims are unreadable")
	}
	c := Claims{Subject: tok.Subject(), Expiry: tok.Expiration(), ID: tok.JwtID(), All: all}
	c.ClientID, _ = all["client_id"].(string)
	c.Family, _ = all[FamilyClaim].(string)
	return c, nil
}

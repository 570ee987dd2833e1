// Package identity carries a verified caller from authz to the components behind Envoy.
//
// authz verifies the client's access token once; everything after it (extproc, the aggregator,
// the egress path) trusts only an identity signed with a key that lives in vmcp's memory, so a
// client cannot forge one even if an internal header slipped through.
package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Identity is who is calling, as established by authz.
type Identity struct {
	Subject       string   `json:"sub"`
	Email         string   `json:"email,omitempty"`
	Groups        []string `json:"groups,omitempty"`
	ClientID      string   `json:"client_id,omitempty"`
	VirtualServer string   `json:"vs"`
	// Expiry is the access token's expiry; the signed identity is worthless after it.
	Expiry int64 `json:"exp"`
}

// Signer signs and verifies identities with one HMAC-SHA256 key, derived once at start-up.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner returns a signer over key, which must be at least 32 bytes of secret randomness.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("identity key must be at least 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...), now: time.Now}, nil
}

// ErrInvalid is returned for any identity that does not verify; the reason is not told to
// callers, who might be probing.
var ErrInvalid = errors.New("invalid identity")

// Sign encodes id as base64url(JSON) "." base64url(HMAC). An identity without a subject or an
// expiry is refused: Verify would refuse it too.
func (s *Signer) Sign(id Identity) (string, error) {
	if id.Subject == "" || id.Expiry == 0 {
		return "", errors.New("identity needs a subject and an expiry")
	}
	payload, err := json.Marshal(id)
	if err != nil {
		return "", fmt.Errorf("encode identity: %w", err)
	}
	enc := base64.RawURLEncoding
	out := make([]byte, 0, enc.EncodedLen(len(payload))+1+enc.EncodedLen(sha256.Size))
	out = enc.AppendEncode(out, payload)
	mac := hmac.New(sha256.New, s.key)
	mac.Write(out)
	out = append(out, '.')
	out = enc.AppendEncode(out, mac.Sum(nil))
	return string(out), nil
}

// Verify checks the signature and expiry of a signed identity.
func (s *Signer) Verify(signed string) (Identity, error) {
	var id Identity
	body, sig, ok := strings.Cut(signed, ".")
	if !ok {
		return id, ErrInvalid
	}
	enc := base64.RawURLEncoding
	gotMAC, err := enc.DecodeString(sig)
	if err != nil {
		return id, ErrInvalid
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(body))
	if !hmac.Equal(gotMAC, mac.Sum(nil)) {
		return id, ErrInvalid
	}
	payload, err := enc.DecodeString(body)
	if err != nil {
		return id, ErrInvalid
	}
	if err := json.Unmarshal(payload, &id); err != nil || id.Subject == "" {
		return Identity{}, ErrInvalid
	}
	// No expiry is not "never expires": an identity is worth no more than the token it came
	// from, and every token vmcp accepts has an exp.
	if id.Expiry == 0 || s.now().Unix() > id.Expiry {
		return Identity{}, ErrInvalid
	}
	return id, nil
}

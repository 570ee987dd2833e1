package login

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// sealer encrypts and authenticates small values that the browser carries for us (the sign-in
// in progress), so that no replica has to remember them and the browser can neither read nor
// alter them.
type sealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

func newSealer(key []byte, now func() time.Time) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// Random 96-bit nonces are safe for about 2^32 messages under one key; sign-ins are far
	// fewer than that between key rotations.
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, now: now}, nil
}

var errSealed = errors.New("sealed value is invalid or expired")

// seal returns base64url(nonce || AES-GCM(expiry || payload)). purpose is the additional data,
// so that a value sealed for one use is refused by every other.
func (s *sealer) seal(purpose string, payload []byte, expires time.Time) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+8+len(payload)+s.aead.Overhead())
	rand.Read(nonce)
	plain := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(payload)), uint64(expires.Unix()))
	plain = append(plain, payload...)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(purpose)))
}

// open reverses seal, refusing anything altered, sealed for another purpose, or expired.
func (s *sealer) open(purpose, sealed string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize()+8+s.aead.Overhead() {
		return nil, errSealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return nil, errSealed
	}
	if s.now().Unix() >= int64(binary.BigEndian.Uint64(plain[:8])) {
		return nil, errSealed
	}
	return plain[8:], nil
}

// csrf makes and checks the dev form's anti-forgery token: an HMAC binding the token to the
// pending authorization's state and to an expiry, so a form can be posted only for the state it
// was rendered for, and not forever.
type csrf struct {
	key []byte
	now func() time.Time
}

func newCSRF(key []byte, now func() time.Time) csrf { return csrf{key: key, now: now} }

func (c csrf) mac(state string, expires uint64) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(binary.BigEndian.AppendUint64(nil, expires))
	m.Write([]byte(state))
	return m.Sum(nil)
}

func (c csrf) token(state string) string {
	exp := uint64(c.now().Add(loginTTL).Unix())
	raw := binary.BigEndian.AppendUint64(nil, exp)
	return base64.RawURLEncoding.EncodeToString(append(raw, c.mac(state, exp)...))
}

func (c csrf) valid(state, token string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 8+sha256.Size {
		return false
	}
	exp := binary.BigEndian.Uint64(raw[:8])
	if !hmac.Equal(raw[8:], c.mac(state, exp)) {
		return false
	}
	return uint64(c.now().Unix()) < exp
}

// randomToken returns 128 random bits, base64url: the IdP state, the nonce.
func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxStateLen is the longest state the authorization server may hand to Begin.
const maxStateLen = 128

// validState reports whether state is 1..128 URL-safe characters (RFC 3986 unreserved), as the
// Provider contract promises: it then goes into HTML and cookies without surprises.
func validState(state string) bool {
	if state == "" || len(state) > maxStateLen {
		return false
	}
	for i := 0; i < len(state); i++ {
		c := state[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// Package session mints and opens the session ids vmcp gives MCP clients.
//
// A client-facing session id is sealed with AES-256-GCM and names its owner (subject), its
// virtual server, its expiry, the negotiated protocol revision and each connector's own session
// id. Because everything is inside the id, any replica that shares the key can serve it, and no
// server-side table grows with open sessions. Binding to owner and virtual server stops the
// replay-across-routes and session-theft bugs seen in other gateways (docs/design.md, "Sessions").
package session

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// State is what a session id carries.
type State struct {
	Subject         string
	VirtualServer   string
	Expiry          int64
	ProtocolVersion string
	// Upstream maps connector name to that connector's own Mcp-Session-Id.
	Upstream map[string]string
	// URLElicitation records that the client declared URL-mode elicitation (MCP 2025-11-25,
	// capabilities.elicitation.url at initialize), so a call that needs the user to connect an
	// account can answer -32042 with the link.
	URLElicitation bool
}

// Errors returned by Open. Missing and unknown sessions map to different HTTP statuses in the
// MCP transport (400 and 404), so callers need to tell them apart.
var (
	ErrMalformed = errors.New("session id is not valid")
	ErrExpired   = errors.New("session expired")
	ErrNotYours  = errors.New("session belongs to another user or virtual server")
)

// additionalData binds ciphertexts to this use of the key and to the format version.
var additionalData = []byte("vmcp-session-v3")

// Codec seals and opens session ids. The AEAD is built once; Seal and Open do no key derivation.
type Codec struct {
	aead cipher.AEAD
	ttl  time.Duration
	now  func() time.Time
	// ended, when set, refuses sessions their clients ended.
	ended *Ended
}

// TrackEnded makes Open refuse the sessions in ended, and End add to it. Call before serving.
func (c *Codec) TrackEnded(ended *Ended) { c.ended = ended }

// keyLen is the length of a session's key: the base64url of its sealed id's 12-byte nonce,
// unique per session (random at Seal) and worthless without the codec's key.
const keyLen = 16

// End ends the session id, whose state Open returned: from now on Open refuses it, here at once
// and on other replicas once they sync. Without TrackEnded (a codec with no store) it does
// nothing, and the id stays valid until it expires.
func (c *Codec) End(ctx context.Context, id string, sess State) error {
	if c.ended == nil {
		return nil
	}
	if len(id) < keyLen {
		return ErrMalformed
	}
	return c.ended.end(ctx, id[:keyLen], sess.Expiry)
}

// NewCodec returns a codec for a 32-byte key and a session lifetime.
func NewCodec(key []byte, ttl time.Duration) (*Codec, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("session key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Codec{aead: aead, ttl: ttl, now: time.Now}, nil
}

// Seal returns a new session id for sess, setting its expiry from the codec's TTL.
func (c *Codec) Seal(sess State) (string, error) {
	sess.Expiry = c.now().Add(c.ttl).Unix()
	plain := encode(sess)
	ns := c.aead.NonceSize()
	buf := make([]byte, ns, ns+len(plain)+c.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	buf = c.aead.Seal(buf, buf[:ns], plain, additionalData)
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open decrypts id and checks that it belongs to subject on virtualServer and has not expired.
// Session ids are visible ASCII per the MCP transport spec; base64url satisfies that.
func (c *Codec) Open(id, subject, virtualServer string) (State, error) {
	var sess State
	raw, err := base64.RawURLEncoding.DecodeString(id)
	ns := c.aead.NonceSize()
	if err != nil || len(raw) < ns+c.aead.Overhead() {
		return sess, ErrMalformed
	}
	plain, err := c.aead.Open(nil, raw[:ns], raw[ns:], additionalData)
	if err != nil {
		return sess, ErrMalformed
	}
	sess, err = decode(plain)
	if err != nil {
		return State{}, ErrMalformed
	}
	if sess.Subject != subject || sess.VirtualServer != virtualServer {
		return State{}, ErrNotYours
	}
	if c.now().Unix() > sess.Expiry {
		return State{}, ErrExpired
	}
	// A valid id is longer than keyLen: it holds the nonce, the GCM tag and the state.
	if c.ended != nil && c.ended.Has(id[:keyLen]) {
		return State{}, ErrEnded
	}
	return sess, nil
}

// Package connections keeps each user's own OAuth tokens for connectors that use credential type
// oauth: the connect flow that obtains them (/connect/{connector}: vmcp sign-in, a confirmation,
// authorization code + PKCE at the connector's authorization server), their encryption at rest,
// their refresh, and disconnecting.
package connections

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Keyring encrypts stored connector tokens with AES-256-GCM. The first key encrypts; every key
// decrypts, so a key is rotated by putting a new one first and dropping the old one once the
// tokens it sealed have been rewritten (on refresh or reconnect). Each sealed record names its
// key by id, a hash of the key that reveals nothing about it.
type Keyring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// ErrUndecryptable means no key of the ring opens a record: its key was dropped, or the record
// was altered or moved to another user or connector.
var ErrUndecryptable = errors.New("connections: stored tokens cannot be decrypted with the configured keys")

// NewKeyring builds a ring from 32-byte keys, the encrypting one first. The AEADs are built
// once, here, never per request.
func NewKeyring(keys [][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("connections: at least one encryption key is needed")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range keys {
		if len(key) != 32 {
			return nil, fmt.Errorf("connections: encryption key %d must be 32 bytes, got %d", i, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(key)
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("connections: encryption key %d repeats an earlier key", i)
		}
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	return k, nil
}

// KeyID names a key without revealing it.
func KeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("vmcp-connection-key-id\x00"), key...))
	return hex.EncodeToString(h[:8])
}

// ParseKey reads a configured key: 32 bytes written as base64 (standard or URL alphabet, padded
// or not) or hex. Errors never quote the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("decodes to %d bytes, want 32 (e.g. `openssl rand -base64 32`)", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("is not 32 bytes in base64 or hex (e.g. `openssl rand -base64 32`)")
}

// aad binds a sealed record to its user and connector: a record copied to another user's row,
// or another connector's, does not open.
func aad(subject, connector string) []byte {
	return []byte("vmcp-connection-v1\x00" + subject + "\x00" + connector)
}

// Seal encrypts plain for subject's connection to connector with the first key.
func (k *Keyring) Seal(subject, connector string, plain []byte) (keyID string, sealed []byte, err error) {
	id := k.ids[0]
	aead := k.aeads[id]
	ns := aead.NonceSize()
	buf := make([]byte, ns, ns+len(plain)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", nil, err
	}
	return id, aead.Seal(buf, buf[:ns], plain, aad(subject, connector)), nil
}

// Open decrypts a record sealed by Seal with the key named keyID.
func (k *Keyring) Open(keyID, subject, connector string, sealed []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok || len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUndecryptable
	}
	ns := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:ns], sealed[ns:], aad(subject, connector))
	if err != nil {
		return nil, ErrUndecryptable
	}
	return plain, nil
}

// Current is the id of the encrypting key; records under another key are re-sealed when they are
// next written.
func (k *Keyring) Current() string { return k.ids[0] }

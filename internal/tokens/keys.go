// Package tokens mints and verifies the access tokens vmcp issues to MCP clients: JWTs signed
// with an ES256 key kept in the store, audience-bound to one virtual server's resource URL
// (RFC 8707), so a token for /v/eng/mcp is no good on /v/sales/mcp.
package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/vmcp-dev/vmcp/internal/store"
)

// KeyStore is the part of the store that keeps signing keys, shared by every replica.
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	AddSigningKey(ctx context.Context, k store.SigningKey) error
}

// Keys is vmcp's ring of token signing keys: the newest signs, and every key young enough to
// have signed a still-valid token stays in the public set, so rotation never breaks a client.
type Keys struct {
	store    KeyStore
	rotation time.Duration
	retain   time.Duration
	now      func() time.Time

	state    atomic.Pointer[keyState]
	mu       sync.Mutex // serialises Rotate
	lastLoad time.Time
}

type keyState struct {
	private jwk.Key
	public  jwk.Set
}

// LoadKeys loads the ring from the store, creating the first key (or a new one, when the newest
// is older than rotation). retain is how long a retired key stays published: at least the
// longest access token lifetime.
func LoadKeys(ctx context.Context, db KeyStore, rotation, retain time.Duration) (*Keys, error) {
	k := &Keys{store: db, rotation: rotation, retain: retain, now: time.Now}
	if err := k.Rotate(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate adds a new signing key when the newest is due for rotation, and reloads the ring from
// the store (picking up keys other replicas added). Call it periodically.
func (k *Keys) Rotate(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	now := k.now()
	if len(stored) == 0 || now.Sub(stored[0].Created) >= k.rotation {
		fresh, err := newStoredKey(now)
		if err != nil {
			return err
		}
		// Two replicas rotating at once each add a key; both get published and the newest
		// signs, which is harmless.
		if err := k.store.AddSigningKey(ctx, fresh); err != nil {
			return err
		}
		if stored, err = k.store.SigningKeys(ctx); err != nil {
			return err
		}
	}
	state := &keyState{public: jwk.NewSet()}
	for i, sk := range stored {
		// A key retired at the moment its successor was created signs nothing newer than
		// that; it is needed for retain after.
		if i > 0 && now.Sub(stored[i-1].Created) > k.retain {
			break
		}
		priv, err := parseKey(sk)
		if err != nil {
			return err
		}
		if state.private == nil {
			state.private = priv
		}
		pub, err := priv.PublicKey()
		if err != nil {
			return err
		}
		if err := pub.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
			return err
		}
		if err := state.public.AddKey(pub); err != nil {
			return err
		}
	}
	k.state.Store(state)
	k.lastLoad = now
	return nil
}

// Reload re-reads the ring from the store unless that happened within minInterval: a token
// signed by a key another replica just made is then accepted, and tokens with made-up key ids
// cannot turn into a flood of store reads. It reports whether the ring was reloaded.
func (k *Keys) Reload(ctx context.Context, minInterval time.Duration) bool {
	k.mu.Lock()
	recent := k.now().Sub(k.lastLoad) < minInterval
	k.mu.Unlock()
	if recent {
		return false
	}
	return k.Rotate(ctx) == nil
}

func newStoredKey(now time.Time) (store.SigningKey, error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return store.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(raw)
	if err != nil {
		return store.SigningKey{}, err
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return store.SigningKey{}, err
	}
	if err := jwk.AssignKeyID(priv); err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{KID: priv.KeyID(), PrivateDER: der, Created: now}, nil
}

func parseKey(sk store.SigningKey) (jwk.Key, error) {
	raw, err := x509.ParsePKCS8PrivateKey(sk.PrivateDER)
	if err != nil {
		return nil, fmt.Errorf("tokens: stored signing key %s is unreadable: %w", sk.KID, err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("tokens: signing key %s: %w", sk.KID, err)
	}
	for _, kv := range []struct {
		k string
		v any
	}{{jwk.KeyIDKey, sk.KID}, {jwk.AlgorithmKey, jwa.ES256}} {
		if err := priv.Set(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	return priv, nil
}

// PublicSet is the JWKS to publish and to verify against.
func (k *Keys) PublicSet() jwk.Set { return k.state.Load().public }

func (k *Keys) signing() jwk.Key { return k.state.Load().private }

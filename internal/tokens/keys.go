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

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// SecretStore is the part of the store tokens needs: a named secret generated once and shared by
// every replica.
type SecretStore interface {
	Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)
}

// signingKeyName is the store's name for the current signing key.
const signingKeyName = "signing-key-es256-1"

// Keys is vmcp's token signing key and its public half, loaded once.
type Keys struct {
	private jwk.Key
	public  jwk.Set
}

// LoadKeys loads the signing key from the store, generating it on first start.
func LoadKeys(ctx context.Context, st SecretStore) (*Keys, error) {
	der, err := st.Secret(ctx, signingKeyName, func() ([]byte, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	})
	if err != nil {
		return nil, err
	}
	raw, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("tokens: stored signing key is unreadable: %w", err)
	}
	return newKeys(raw)
}

func newKeys(raw any) (*Keys, error) {
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("tokens: signing key: %w", err)
	}
	if err := jwk.AssignKeyID(priv); err != nil {
		return nil, err
	}
	if err := priv.Set(jwk.AlgorithmKey, jwa.ES256); err != nil {
		return nil, err
	}
	pub, err := priv.PublicKey()
	if err != nil {
		return nil, err
	}
	if err := pub.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	return &Keys{private: priv, public: set}, nil
}

// PublicSet is the JWKS to publish and to verify against.
func (k *Keys) PublicSet() jwk.Set { return k.public }

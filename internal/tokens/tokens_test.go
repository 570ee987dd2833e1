package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/vmcp-dev/vmcp/internal/store"
)

const (
	issuer   = "https://mcp.example.com"
	audience = "https://mcp.example.com/v/eng/mcp"
)

// openStore opens a real SQLite store in a temp dir.
func openStore(t *testing.T) store.Store {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func loadKeys(t *testing.T) *Keys {
	t.Helper()
	k, err := LoadKeys(context.Background(), openStore(t), 24*time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLoadKeysGeneratesOnceAndReuses(t *testing.T) {
	db := openStore(t)
	first, err := LoadKeys(context.Background(), db, 24*time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadKeys(context.Background(), db, 24*time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := db.SigningKeys(context.Background())
	if len(stored) != 1 {
		t.Fatalf("the store holds %d keys, want 1", len(stored))
	}
	if a, b := first.signing().KeyID(), second.signing().KeyID(); a == "" || a != b {
		t.Errorf("key ids %q and %q, want one non-empty id", a, b)
	}
	// A token minted after one start verifies after the next: same key, not merely same id.
	tok, err := NewMinter(first, issuer, time.Hour).Mint(Claims{Subject: "alice", Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(second.PublicSet(), issuer, 0).Verify(tok, audience); err != nil {
		t.Errorf("token from the first load does not verify with the second: %v", err)
	}
}

func TestRotationKeepsOldTokensValidUntilTheirKeyRetires(t *testing.T) {
	db := openStore(t)
	now := time.Now()
	k := &Keys{store: db, rotation: time.Hour, retain: 2 * time.Hour, now: func() time.Time { return now }}
	if err := k.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	old, err := NewMinter(k, issuer, time.Hour).Mint(Claims{Subject: "alice", Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	firstKID := k.signing().KeyID()

	now = now.Add(90 * time.Minute) // past rotation: a new key signs
	if err := k.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if k.signing().KeyID() == firstKID {
		t.Fatal("no new signing key after the rotation interval")
	}
	if k.PublicSet().Len() != 2 {
		t.Fatalf("public set has %d keys, want the new and the retired one", k.PublicSet().Len())
	}
	if _, err := NewVerifier(k.PublicSet(), issuer, 0).WithClock(func() time.Time { return now.Add(-80 * time.Minute) }).Verify(old, audience); err != nil {
		t.Errorf("a token signed by the retired key no longer verifies: %v", err)
	}

	now = now.Add(3 * time.Hour) // the retired key's tokens have all expired
	if err := k.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.PublicSet().LookupKeyID(firstKID); ok {
		t.Error("a key retired longer than the retention is still published")
	}
}

func TestLoadKeysRefusesAnUnreadableStoredKey(t *testing.T) {
	db := openStore(t)
	if err := db.AddSigningKey(context.Background(), store.SigningKey{KID: "broken", PrivateDER: []byte("not a key"), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	k, err := LoadKeys(context.Background(), db, 24*time.Hour, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "stored signing key broken is unreadable") {
		t.Errorf("LoadKeys = %v, %v; want an error naming the unreadable key", k, err)
	}
}

func TestThePublicSetHoldsOnlyThePublicSigningKey(t *testing.T) {
	keys := loadKeys(t)
	set := keys.PublicSet()
	if set.Len() != 1 {
		t.Fatalf("set has %d keys, want 1", set.Len())
	}
	k, _ := set.Key(0)
	if _, ok := k.(jwk.ECDSAPublicKey); !ok {
		t.Fatalf("published key is %T, want an ECDSA public key", k)
	}
	if k.KeyID() != keys.signing().KeyID() || k.Algorithm() != jwa.ES256 || k.KeyUsage() != string(jwk.ForSignature) {
		t.Errorf("kid %q alg %v use %q, want the signing key's kid, ES256, sig", k.KeyID(), k.Algorithm(), k.KeyUsage())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Keys []map[string]any }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if _, leaked := doc.Keys[0]["d"]; leaked {
		t.Error("the JWKS publishes the private exponent d")
	}
}

func TestAMintedTokenVerifiesWithItsClaims(t *testing.T) {
	keys := loadKeys(t)
	m := NewMinter(keys, issuer, time.Hour)
	issued := time.Now().Truncate(time.Second)
	m.now = func() time.Time { return issued }
	in := Claims{
		Subject:  "alice",
		Email:    "alice@example.com",
		Groups:   []string{"eng", "oncall"},
		ClientID: "client-1",
		Scope:    "mcp",
		Audience: audience,
		Family:   "family-digest",
	}
	tok, err := m.Mint(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewVerifier(keys.PublicSet(), issuer, 0).Verify(tok, audience)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want := issued.Add(time.Hour); !got.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v", got.Expiry, want)
	}
	want := in
	want.Expiry = got.Expiry
	if len(got.ID) != 32 {
		t.Errorf("ID (jti) = %q, want 128 random bits in hex", got.ID)
	}
	want.ID = got.ID
	all := got.All
	got.All = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Verify = %+v\nwant %+v", got, want)
	}
	for _, claim := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "email", "groups", "client_id", "scope"} {
		if _, ok := all[claim]; !ok {
			t.Errorf("verified claims lack %q", claim)
		}
	}
}

func TestTwoMintedTokensHaveDistinctIDs(t *testing.T) {
	keys := loadKeys(t)
	m := NewMinter(keys, issuer, time.Hour)
	v := NewVerifier(keys.PublicSet(), issuer, 0)
	jtis := map[any]bool{}
	for range 20 {
		tok, err := m.Mint(Claims{Subject: "alice", Audience: audience})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(tok, audience)
		if err != nil {
			t.Fatal(err)
		}
		jtis[c.All["jti"]] = true
	}
	if len(jtis) != 20 {
		t.Errorf("%d distinct jti in 20 tokens", len(jtis))
	}
}

func TestMintNeedsASubjectAndAnAudience(t *testing.T) {
	m := NewMinter(loadKeys(t), issuer, time.Hour)
	for _, tc := range []struct {
		name string
		c    Claims
	}{
		{"no subject", Claims{Audience: audience}},
		{"no audience", Claims{Subject: "alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := m.Mint(tc.c); err == nil {
				t.Errorf("Mint = %q, want an error", tok)
			}
		})
	}
}

// claims are the registered claims of a valid token at now; rows change one thing each.
func claims(now time.Time) map[string]any {
	return map[string]any{
		"iss": issuer,
		"sub": "alice",
		"aud": []string{audience},
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// signES256 signs a hand-built claim set with key, as Mint would (kid from the key).
func signES256(t *testing.T, key jwk.Key, c map[string]any) string {
	t.Helper()
	tok := jwt.New()
	for k, v := range c {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// compact assembles header.payload.signature from JSON parts and a raw signature, for the
// forgeries no library would sign.
func compact(t *testing.T, header, payload any, sign func(signingInput string) []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	in := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	return in + "." + enc.EncodeToString(sign(in))
}

func hs256(secret []byte) func(string) []byte {
	return func(in string) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(in))
		return mac.Sum(nil)
	}
}

// publicKeyEncodings are the byte strings an attacker might try as the HMAC secret when
// replaying the classic RS256/ES256 → HS256 confusion: the verifier's own public key.
func publicKeyEncodings(t *testing.T, keys *Keys) map[string][]byte {
	t.Helper()
	pub, _ := keys.PublicSet().Key(0)
	var raw ecdsa.PublicKey
	if err := pub.Raw(&raw); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&raw)
	if err != nil {
		t.Fatal(err)
	}
	jwkJSON, err := json.Marshal(pub)
	if err != nil {
		t.Fatal(err)
	}
	ecdh, err := raw.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"PEM":          pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"DER":          der,
		"JWK JSON":     jwkJSON,
		"uncompressed": ecdh.Bytes(),
	}
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	keys := loadKeys(t)
	kid := keys.signing().KeyID()
	v := NewVerifier(keys.PublicSet(), issuer, 30*time.Second)
	now := time.Now()

	with := func(change func(c map[string]any)) map[string]any {
		c := claims(now)
		change(c)
		return c
	}
	otherKeys := loadKeys(t)
	// Another key, wearing our key id.
	impostor, err := jwk.FromRaw(must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)))
	if err != nil {
		t.Fatal(err)
	}
	if err := impostor.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	good := signES256(t, keys.signing(), claims(now))
	parts := strings.Split(good, ".")
	tampered := base64.RawURLEncoding.EncodeToString(must(json.Marshal(with(func(c map[string]any) { c["sub"] = "admin" }))))

	type row struct {
		name   string
		token  string
		reason string
	}
	rows := []row{
		{"an expired token", signES256(t, keys.signing(), with(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), "token expired"},
		// The JWT library treats exp 0 as "no expiry"; found by FuzzVerifySignedClaims.
		{"a token that expired at the epoch", signES256(t, keys.signing(), with(func(c map[string]any) { c["exp"] = 0 })), "token expired"},
		{"a token not valid until later", signES256(t, keys.signing(), with(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })), "token not yet valid"},
		{"a token issued in the future", signES256(t, keys.signing(), with(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() })), "token issued in the future"},
		{"a token for another virtual server", signES256(t, keys.signing(), with(func(c map[string]any) { c["aud"] = []string{"https://mcp.example.com/v/sales/mcp"} })), "token audience is not this virtual server"},
		{"a token without an audience", signES256(t, keys.signing(), with(func(c map[string]any) { delete(c, "aud") })), "token audience is not this virtual server"},
		{"a token from another issuer", signES256(t, keys.signing(), with(func(c map[string]any) { c["iss"] = "https://evil.example.com" })), "token issuer is not trusted"},
		{"a token without a subject", signES256(t, keys.signing(), with(func(c map[string]any) { delete(c, "sub") })), "token lacks a required claim (sub, exp)"},
		{"a token with an empty subject", signES256(t, keys.signing(), with(func(c map[string]any) { c["sub"] = "" })), "token has an empty subject"},
		{"a token without an expiry", signES256(t, keys.signing(), with(func(c map[string]any) { delete(c, "exp") })), "token lacks a required claim (sub, exp)"},
		{"alg none with no signature", compact(t, map[string]string{"alg": "none", "typ": "JWT"}, claims(now), func(string) []byte { return nil }), "token signing algorithm is not accepted"},
		{"alg none with our key id", compact(t, map[string]string{"alg": "none", "kid": kid}, claims(now), func(string) []byte { return nil }), "token signing algorithm is not accepted"},
		{"a token signed by another ES256 key", signES256(t, otherKeys.signing(), claims(now)), "token signed by an unknown key"},
		{"a token signed by another key under our key id", signES256(t, impostor, claims(now)), "token signature or format is invalid"},
		{"a token without a key id", compact(t, map[string]string{"alg": "HS256"}, claims(now), hs256([]byte("x"))), "token has no key id"},
		{"a tampered payload", parts[0] + "." + tampered + "." + parts[2], "token signature or format is invalid"},
		{"a truncated signature", good[:len(good)-4], "token signature or format is invalid"},
		{"a token with no signature part", parts[0] + "." + parts[1], "token signature or format is invalid"},
		{"an empty string", "", "token signature or format is invalid"},
		{"garbage", "not.a.token", "token signature or format is invalid"},
	}
	for name, secret := range publicKeyEncodings(t, keys) {
		rows = append(rows, row{
			"HS256 keyed with the public key as " + name,
			compact(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": kid}, claims(now), hs256(secret)),
			"token signature or format is invalid",
		})
	}

	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(tc.token, audience)
			if err == nil {
				t.Fatalf("Verify accepted it as %+v", c)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v does not wrap ErrInvalidToken", err)
			}
			if want := "invalid token: " + tc.reason; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if !reflect.DeepEqual(c, Claims{}) {
				t.Errorf("Verify returned claims %+v with an error", c)
			}
			for _, part := range strings.Split(tc.token, ".") {
				if len(part) > 8 && strings.Contains(err.Error(), part) {
					t.Errorf("error echoes part of the token")
				}
			}
		})
	}
}

func TestAnUnknownKeyIsReportedSoTheCallerCanRefresh(t *testing.T) {
	keys, other := loadKeys(t), loadKeys(t)
	tok, err := NewMinter(other, issuer, time.Hour).Mint(Claims{Subject: "alice", Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewVerifier(keys.PublicSet(), issuer, 0).Verify(tok, audience)
	if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify = %v, want ErrUnknownKey and ErrInvalidToken", err)
	}
}

// A JWKS from an identity provider may publish keys without "alg". Even a verifier whose
// allow-list wrongly includes HS256 must not then verify an HMAC keyed with the public key.
func TestKeyConfusionFailsForKeysWithoutADeclaredAlgorithm(t *testing.T) {
	keys := loadKeys(t)
	pub, _ := keys.PublicSet().Key(0)
	bare, err := pub.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if err := bare.Remove(jwk.AlgorithmKey); err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(bare); err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(set, issuer, 0).WithAlgorithms([]string{"ES256", "HS256"})
	now := time.Now()

	// The allow-listed, correctly signed token still verifies: the test is not vacuous.
	if _, err := v.Verify(signES256(t, keys.signing(), claims(now)), audience); err != nil {
		t.Fatalf("a genuine ES256 token failed: %v", err)
	}
	for name, secret := range publicKeyEncodings(t, keys) {
		t.Run("HS256 keyed with the public key as "+name, func(t *testing.T) {
			tok := compact(t, map[string]string{"alg": "HS256", "kid": keys.signing().KeyID()}, claims(now), hs256(secret))
			if _, err := v.Verify(tok, audience); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify = %v, want ErrInvalidToken", err)
			}
		})
	}
	t.Run("an algorithm outside the allow-list", func(t *testing.T) {
		_, err := NewVerifier(set, issuer, 0).WithAlgorithms([]string{"RS256"}).Verify(signES256(t, keys.signing(), claims(now)), audience)
		if err == nil || err.Error() != "invalid token: token signing algorithm is not accepted" {
			t.Errorf("Verify = %v, want the algorithm refused", err)
		}
	})
}

func TestLeewayToleratesSmallClockSkew(t *testing.T) {
	keys := loadKeys(t)
	v := NewVerifier(keys.PublicSet(), issuer, 30*time.Second)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		change func(c map[string]any)
		ok     bool
	}{
		{"a token expired 10 s ago is accepted with 30 s leeway", func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }, true},
		{"a token expired 2 min ago is refused with 30 s leeway", func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }, false},
		{"a token valid from 10 s ahead is accepted with 30 s leeway", func(c map[string]any) { c["nbf"] = now.Add(10 * time.Second).Unix() }, true},
		{"a token issued 10 s ahead is accepted with 30 s leeway", func(c map[string]any) { c["iat"] = now.Add(10 * time.Second).Unix() }, true},
		{"a token issued 2 min ahead is refused with 30 s leeway", func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := claims(now)
			tc.change(c)
			_, err := v.Verify(signES256(t, keys.signing(), c), audience)
			if (err == nil) != tc.ok {
				t.Errorf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	t.Run("a minted token expired 10 s ago is accepted with 30 s leeway", func(t *testing.T) {
		m := NewMinter(keys, issuer, time.Hour)
		m.now = func() time.Time { return time.Now().Add(-time.Hour - 10*time.Second) }
		tok, err := m.Mint(Claims{Subject: "alice", Audience: audience})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok, audience); err != nil {
			t.Errorf("Verify: %v", err)
		}
		if _, err := NewVerifier(keys.PublicSet(), issuer, 0).Verify(tok, audience); err == nil {
			t.Error("without leeway the same token verified")
		}
	})
}

func TestStringListReadsListClaims(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want []string
	}{
		{"a JSON list of strings", []any{"a", "b"}, []string{"a", "b"}},
		{"a list with non-strings keeps the strings", []any{"a", 1.0, nil, "b"}, []string{"a", "b"}},
		{"a single string", "a", []string{"a"}},
		{"a Go string slice", []string{"a"}, []string{"a"}},
		{"a number", 3.0, nil},
		{"nothing", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StringList(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("StringList(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

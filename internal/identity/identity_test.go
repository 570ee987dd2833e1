package identity

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	key   = bytes.Repeat([]byte("k"), 32)
	epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func newSigner(t testing.TB, k []byte, now *time.Time) *Signer {
	t.Helper()
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return *now }
	return s
}

func alice() Identity {
	return Identity{
		Subject:       "alice",
		Email:         "alice@example.com",
		Groups:        []string{"eng", "oncall"},
		ClientID:      "client-1",
		VirtualServer: "eng",
		Expiry:        epoch.Add(time.Hour).Unix(),
	}
}

func TestASignedIdentityVerifies(t *testing.T) {
	now := epoch
	s := newSigner(t, key, &now)
	for _, tc := range []struct {
		name string
		id   Identity
	}{
		{"a full identity round-trips", alice()},
		{"an identity with only a subject and expiry round-trips", Identity{Subject: "bob", Expiry: epoch.Add(time.Minute).Unix()}},
		{"an identity with unusual characters round-trips", Identity{Subject: "ü.\"x\"", Groups: []string{"a.b", ""}, Expiry: epoch.Add(time.Minute).Unix()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := s.Sign(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Verify(signed)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(got, tc.id) {
				t.Errorf("Verify = %+v, want %+v", got, tc.id)
			}
		})
	}
}

func TestAKeyOfAtLeast32BytesIsRequired(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		ok   bool
	}{
		{"no key is refused", 0, false},
		{"a 16-byte key is refused", 16, false},
		{"a 31-byte key is refused", 31, false},
		{"a 32-byte key is accepted", 32, true},
		{"a 64-byte key is accepted", 64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(make([]byte, tc.n))
			if (err == nil) != tc.ok || (s != nil) != tc.ok {
				t.Errorf("NewSigner(%d bytes) = %v, %v; want ok=%v", tc.n, s, err, tc.ok)
			}
		})
	}
}

func TestTheSignerKeepsItsOwnCopyOfTheKey(t *testing.T) {
	now := epoch
	k := bytes.Clone(key)
	s := newSigner(t, k, &now)
	signed, err := s.Sign(alice())
	if err != nil {
		t.Fatal(err)
	}
	for i := range k {
		k[i] = 0
	}
	if _, err := s.Verify(signed); err != nil {
		t.Errorf("Verify after the caller reused its key buffer: %v", err)
	}
}

func TestVerifyRefusesForgedAndStaleIdentities(t *testing.T) {
	now := epoch
	s := newSigner(t, key, &now)
	signed, err := s.Sign(alice())
	if err != nil {
		t.Fatal(err)
	}
	body, sig, _ := strings.Cut(signed, ".")
	enc := base64.RawURLEncoding

	other := newSigner(t, bytes.Repeat([]byte("o"), 32), &now)
	byOther := mustSign(t, other, alice())
	mallory := alice()
	mallory.Subject = "mallory"
	malloryJSON, _ := json.Marshal(mallory)

	expired := alice()
	expired.Expiry = epoch.Add(-time.Second).Unix()

	for _, tc := range []struct {
		name   string
		signed string
	}{
		{"an empty string", ""},
		{"no separator", body + sig},
		{"a tampered payload with the old signature", enc.EncodeToString(malloryJSON) + "." + sig},
		{"a payload with one flipped character", flipChar(body, len(body)/2) + "." + sig},
		{"a tampered signature", body + "." + flipChar(sig, 3)},
		{"a truncated signature", body + "." + sig[:len(sig)-2]},
		{"an empty signature", body + "."},
		{"a signature with padding", body + "." + sig + "="},
		{"a second separator", body + "." + sig + ".x"},
		{"a signature by another key", byOther},
		{"an expired identity", mustSign(t, s, expired)},
		{"an identity with no subject", signWith(key, `{"vs":"eng","exp":1772370000}`)},
		{"an identity with no expiry", signWith(key, `{"sub":"alice","vs":"eng"}`)},
		{"an identity with a zero expiry", signWith(key, `{"sub":"alice","vs":"eng","exp":0}`)},
		{"a validly signed payload that is not JSON", signWith(key, "not json")},
		{"a validly signed payload with a wrong-typed field", signWith(key, `{"sub":"alice","exp":"tomorrow"}`)},
		{"a validly signed JSON null", signWith(key, `null`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.Verify(tc.signed)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalid", id, err)
			}
			if !reflect.DeepEqual(id, Identity{}) {
				t.Errorf("Verify returned %+v with an error", id)
			}
			if err.Error() != "invalid identity" {
				t.Errorf("error %q tells the caller why", err)
			}
		})
	}
}

func TestAnIdentityExpiresAfterItsLastSecond(t *testing.T) {
	now := epoch
	s := newSigner(t, key, &now)
	signed := mustSign(t, s, alice())
	for _, tc := range []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"at its expiry second it verifies", time.Hour, true},
		{"one second later it does not", time.Hour + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = epoch.Add(tc.after)
			_, err := s.Verify(signed)
			if (err == nil) != tc.ok {
				t.Errorf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// signWith signs an arbitrary payload in Sign's format, to reach Verify's checks after the MAC.
func signWith(k []byte, payload string) string {
	enc := base64.RawURLEncoding
	p := enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte(p))
	return p + "." + enc.EncodeToString(mac.Sum(nil))
}

func TestSignWithMatchesSignsFormat(t *testing.T) {
	now := epoch
	s := newSigner(t, key, &now)
	payload, _ := json.Marshal(alice())
	if got, want := signWith(key, string(payload)), mustSign(t, s, alice()); got != want {
		t.Fatalf("the test's signer drifted from Sign:\n%s\n%s", got, want)
	}
}

func TestSignRefusesIdentitiesVerifyWouldRefuse(t *testing.T) {
	now := epoch
	s := newSigner(t, key, &now)
	for _, tc := range []struct {
		name string
		id   Identity
	}{
		{"an identity with no subject", Identity{VirtualServer: "eng", Expiry: epoch.Add(time.Hour).Unix()}},
		{"an identity with no expiry", Identity{Subject: "alice", VirtualServer: "eng"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if signed, err := s.Sign(tc.id); err == nil {
				t.Errorf("Sign = %q, want an error", signed)
			}
		})
	}
}

func mustSign(t *testing.T, s *Signer, id Identity) string {
	t.Helper()
	signed, err := s.Sign(id)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func flipChar(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

package connections

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealedTokensOpenOnlyForTheirUserAndConnector(t *testing.T) {
	ring, err := NewKeyring([][]byte{key(1)})
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := ring.Seal("alice", "github", []byte("tokens"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("tokens")) {
		t.Fatal("the sealed record contains the plaintext")
	}
	if got, err := ring.Open(id, "alice", "github", sealed); err != nil || string(got) != "tokens" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for _, tc := range []struct{ name, subject, connector string }{
		{"another user's row", "bob", "github"},
		{"another connector's row", "alice", "jira"},
		{"a shifted boundary", "alice\x00github", ""},
	} {
		if _, err := ring.Open(id, tc.subject, tc.connector, sealed); !errors.Is(err, ErrUndecryptable) {
			t.Errorf("%s: Open = %v, want ErrUndecryptable", tc.name, err)
		}
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := ring.Open(id, "alice", "github", sealed); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("a flipped bit: Open = %v, want ErrUndecryptable", err)
	}
}

func TestKeyRotationDecryptsWithEveryKeyAndEncryptsWithTheFirst(t *testing.T) {
	old, _ := NewKeyring([][]byte{key(1)})
	oldID, sealed, _ := old.Seal("alice", "github", []byte("tokens"))

	rotated, err := NewKeyring([][]byte{key(2), key(1)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(oldID, "alice", "github", sealed); err != nil || string(got) != "tokens" {
		t.Fatalf("the rotated ring cannot open a record of the old key: %q, %v", got, err)
	}
	newID, _, _ := rotated.Seal("alice", "github", []byte("tokens"))
	if newID == oldID || newID != rotated.Current() || newID != KeyID(key(2)) {
		t.Fatalf("new records are sealed with %s, want the first key %s", newID, KeyID(key(2)))
	}
	dropped, _ := NewKeyring([][]byte{key(2)})
	if _, err := dropped.Open(oldID, "alice", "github", sealed); !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("a dropped key still opens: %v", err)
	}
	if strings.Contains(newID, hex.EncodeToString(key(2))[:8]) {
		t.Fatal("the key id shows the key")
	}
}

func TestKeyringRefusesBadKeys(t *testing.T) {
	for name, keys := range map[string][][]byte{
		"no key":         nil,
		"a short key":    {make([]byte, 16)},
		"a repeated key": {key(1), key(1)},
	} {
		if _, err := NewKeyring(keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseKeyReadsBase64AndHexAndNeverQuotesTheValue(t *testing.T) {
	k := key(7)
	for _, s := range []string{base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k), hex.EncodeToString(k), " " + hex.EncodeToString(k) + "\n"} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"secret-but-not-a-key", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		_, err := ParseKey(s)
		if err == nil || strings.Contains(err.Error(), s) {
			t.Errorf("ParseKey(%q) = %v; want an error that does not quote the value", s, err)
		}
	}
}

package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/cputime"
)

var (
	key   = bytes.Repeat([]byte{0x42}, 32)
	epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// newCodec returns a codec whose clock reads *now.
func newCodec(t testing.TB, k []byte, now *time.Time) *Codec {
	t.Helper()
	c, err := NewCodec(k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return *now }
	return c
}

func aliceState() State {
	return State{
		Subject:         "alice",
		VirtualServer:   "eng",
		ProtocolVersion: "2025-06-18",
		Upstream:        map[string]string{"notes": "up-notes-1", "drive": "9f0c"},
	}
}

func TestASealedSessionOpensForItsOwner(t *testing.T) {
	now := epoch
	c := newCodec(t, key, &now)
	id, err := c.Seal(aliceState())
	if err != nil {
		t.Fatal(err)
	}
	now = epoch.Add(59 * time.Minute)
	got, err := c.Open(id, "alice", "eng")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	want := aliceState()
	want.Expiry = epoch.Add(time.Hour).Unix()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Open = %+v, want %+v", got, want)
	}
}

func TestSealSetsTheExpiryFromTheCodecNotTheCaller(t *testing.T) {
	now := epoch
	c := newCodec(t, key, &now)
	sess := aliceState()
	sess.Expiry = epoch.Add(100 * 365 * 24 * time.Hour).Unix()
	id, err := c.Seal(sess)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Open(id, "alice", "eng")
	if err != nil {
		t.Fatal(err)
	}
	if want := epoch.Add(time.Hour).Unix(); got.Expiry != want {
		t.Errorf("Expiry = %d, want %d", got.Expiry, want)
	}
}

func TestOpenRefusesSessionsThatAreNotTheCallers(t *testing.T) {
	now := epoch
	c := newCodec(t, key, &now)
	id, err := c.Seal(aliceState())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, subject, vs string
		want              error
	}{
		{"another subject on the same virtual server", "bob", "eng", ErrNotYours},
		{"the same subject on another virtual server (replay across routes)", "alice", "sales", ErrNotYours},
		{"another subject on another virtual server", "bob", "sales", ErrNotYours},
		{"an empty subject", "", "eng", ErrNotYours},
		{"a subject differing only in case", "Alice", "eng", ErrNotYours},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := c.Open(id, tc.subject, tc.vs)
			if !errors.Is(err, tc.want) {
				t.Errorf("Open = %v, want %v", err, tc.want)
			}
			if !reflect.DeepEqual(sess, State{}) {
				t.Errorf("Open returned state %+v with an error", sess)
			}
		})
	}
}

func TestOpenRefusesExpiredSessions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  error
	}{
		{"a session at its last valid second opens", time.Hour, nil},
		{"a session one second past its expiry is expired", time.Hour + time.Second, ErrExpired},
		{"a session a day old is expired", 24 * time.Hour, ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := epoch
			c := newCodec(t, key, &now)
			id, err := c.Seal(aliceState())
			if err != nil {
				t.Fatal(err)
			}
			now = epoch.Add(tc.after)
			sess, err := c.Open(id, "alice", "eng")
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			if tc.want != nil && !reflect.DeepEqual(sess, State{}) {
				t.Errorf("Open returned state %+v with an error", sess)
			}
		})
	}
}

func TestOpenRefusesMalformedIDs(t *testing.T) {
	now := epoch
	c := newCodec(t, key, &now)
	// The nonce is random, so an id may by chance use none of the two characters in which the
	// URL and standard alphabets differ; seal until one does, so the standard-alphabet case below
	// really differs from the id (about 4% of ids would otherwise make it a valid id).
	var id string
	for i := 0; i < 64 && !strings.ContainsAny(id, "-_"); i++ {
		var err error
		if id, err = c.Seal(aliceState()); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.ContainsAny(id, "-_") {
		t.Fatalf("64 sealed ids used no URL-only base64 character; the nonce is not random")
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other, err := NewCodec(bytes.Repeat([]byte{0x43}, 32), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other.now = c.now
	foreign, err := other.Seal(aliceState())
	if err != nil {
		t.Fatal(err)
	}
	// A sealed id whose plaintext is not a State: same key and additional data, wrong content.
	notJSON := base64.RawURLEncoding.EncodeToString(c.aead.Seal(bytes.Repeat([]byte{1}, 12), bytes.Repeat([]byte{1}, 12), []byte("not json"), additionalData))
	// A sealed State under a different additional data (another use of the same key).
	otherAD := base64.RawURLEncoding.EncodeToString(c.aead.Seal(bytes.Repeat([]byte{2}, 12), bytes.Repeat([]byte{2}, 12), []byte(`{"u":"alice","v":"eng","e":9999999999}`), []byte("vmcp-other-v1")))

	for _, tc := range []struct{ name, id string }{
		{"an empty id", ""},
		{"garbage", "not a session id!"},
		{"standard base64", base64.StdEncoding.EncodeToString(raw)},
		{"an id with padding", id + "=="},
		{"an id with a flipped nonce bit", flip(0)},
		{"an id with a flipped ciphertext bit", flip(len(raw) / 2)},
		{"an id with a flipped tag bit", flip(len(raw) - 1)},
		{"an id truncated by one character", id[:len(id)-1]},
		{"an id truncated to the nonce", base64.RawURLEncoding.EncodeToString(raw[:12])},
		{"an id one byte shorter than nonce and tag", base64.RawURLEncoding.EncodeToString(raw[:12+16-1])},
		{"an id with a byte appended", base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0))},
		{"an id sealed with another key", foreign},
		{"a sealed plaintext that is not JSON", notJSON},
		{"a sealed state under other additional data", otherAD},
		{"an id with white space around it", " " + id},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := c.Open(tc.id, "alice", "eng")
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Open = %v, want ErrMalformed", err)
			}
			if !reflect.DeepEqual(sess, State{}) {
				t.Errorf("Open returned state %+v with an error", sess)
			}
		})
	}
}

func TestSessionIDsAreVisibleURLSafeASCII(t *testing.T) {
	now := epoch
	c := newCodec(t, key, &now)
	for _, sess := range []State{
		{},
		aliceState(),
		{Subject: "ü/é?&=+", VirtualServer: "eng", Upstream: map[string]string{"x": strings.Repeat("\x00\xff", 100)}},
	} {
		id, err := c.Seal(sess)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(id); i++ {
			b := id[i]
			// MCP transports: the session id MUST only contain visible ASCII (0x21 to 0x7E);
			// URL-safe so it survives query strings and logs unescaped.
			urlSafe := b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_'
			if b < 0x21 || b > 0x7e || !urlSafe {
				t.Fatalf("id %q has byte %#x at %d", id, b, i)
			}
		}
	}
}

func TestTwoSealsOfTheSameStateDiffer(t *testing.T) {
	now := epoch
	c := newCodec(t, key, &now)
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 100 {
		id, err := c.Seal(aliceState())
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("Seal returned the same id twice: %s", id)
		}
		seen[id] = true
		raw, _ := base64.RawURLEncoding.DecodeString(id)
		nonces[string(raw[:c.aead.NonceSize()])] = true
	}
	if len(nonces) != 100 {
		t.Errorf("%d distinct nonces in 100 seals", len(nonces))
	}
}

func TestNewCodecNeedsA32ByteKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		ok   bool
	}{
		{"an empty key is refused", 0, false},
		{"a 16-byte key is refused", 16, false},
		{"a 31-byte key is refused", 31, false},
		{"a 32-byte key is accepted", 32, true},
		{"a 33-byte key is refused", 33, false},
		{"a 64-byte key is refused", 64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCodec(make([]byte, tc.n), time.Hour)
			if (err == nil) != tc.ok || (c != nil) != tc.ok {
				t.Errorf("NewCodec(%d bytes) = %v, %v; want ok=%v", tc.n, c, err, tc.ok)
			}
		})
	}
}

// BenchmarkSealOpen is the per-request cost of a session id: one Seal at initialize and one
// Open on every later request. No key derivation may appear here (docs/design.md, "Sessions").
func BenchmarkSealOpen(b *testing.B) {
	now := epoch
	c := newCodec(b, key, &now)
	sess := aliceState()
	b.ReportAllocs()
	defer cputime.Start(b)()
	for b.Loop() {
		id, err := c.Seal(sess)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Open(id, "alice", "eng"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode: the record decoder never panics, and what it accepts survives a round trip.
// (Records are sealed, so only vmcp writes them; a non-canonical varint is harmless.)
func FuzzDecode(f *testing.F) {
	f.Add(encode(State{Subject: "alice", VirtualServer: "demo", Expiry: 1, Upstream: map[string]string{"notes": "s-1"}}))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		sess, err := decode(b)
		if err != nil {
			return
		}
		again, err := decode(encode(sess))
		if err != nil || !reflect.DeepEqual(again, sess) {
			t.Fatalf("decode(%x) = %+v does not survive a round trip: %+v, %v", b, sess, again, err)
		}
	})
}

func TestTheURLElicitationCapabilityTravelsInTheSession(t *testing.T) {
	now := epoch
	c := newCodec(t, key, &now)
	for _, declared := range []bool{true, false} {
		sess := aliceState()
		sess.URLElicitation = declared
		id, err := c.Seal(sess)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Open(id, "alice", "eng")
		if err != nil {
			t.Fatal(err)
		}
		if got.URLElicitation != declared || got.Upstream["notes"] != "up-notes-1" {
			t.Errorf("declared %v: opened %+v", declared, got)
		}
	}
}

func TestARecordWithUnknownFlagsIsRefused(t *testing.T) {
	b := encode(aliceState())
	b[len(b)-1] = 0x02 // a flag this version does not know
	if _, err := decode(b); err == nil {
		t.Fatal("decode accepted an unknown flag")
	}
}

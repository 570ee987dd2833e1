package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/store"
)

var secretTests = []test{
	{"a secret is generated on first use and returned unchanged afterwards", func(t *testing.T, e *env) {
		db := e.store()
		calls := 0
		gen := func() ([]byte, error) { calls++; return []byte("first"), nil }
		v1, err := db.Secret(t.Context(), "k", gen)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := db.Secret(t.Context(), "k", func() ([]byte, error) { return []byte("second"), nil })
		if err != nil {
			t.Fatal(err)
		}
		if string(v1) != "first" || string(v2) != "first" || calls != 1 {
			t.Fatalf("got %q then %q after %d generations; want first twice after 1", v1, v2, calls)
		}
	}},
	{"secrets with different names are independent", func(t *testing.T, e *env) {
		db := e.store()
		a := mustSecret(t, db, "a", "value-a")
		b := mustSecret(t, db, "b", "value-b")
		if string(a) != "value-a" || string(b) != "value-b" {
			t.Fatalf("got %q and %q", a, b)
		}
	}},
	{"a failing generator stores nothing and its error is returned", func(t *testing.T, e *env) {
		db := e.store()
		boom := errors.New("no entropy")
		if _, err := db.Secret(t.Context(), "k", func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("got %v, want the generator's error", err)
		}
		if v := mustSecret(t, db, "k", "later"); string(v) != "later" {
			t.Fatalf("got %q after a failed generation, want the next generated value", v)
		}
	}},
}

func mustSecret(t *testing.T, db store.Store, name, value string) []byte {
	t.Helper()
	v, err := db.Secret(t.Context(), name, func() ([]byte, error) { return []byte(value), nil })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var clientTests = []test{
	{"a confidential client round-trips with its secret hash", func(t *testing.T, e *env) {
		db := e.store()
		if err := db.PutClient(t.Context(), "c1", []byte(`{"client_name":"x"}`), []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		meta, hash, err := db.Client(t.Context(), "c1")
		if err != nil || string(meta) != `{"client_name":"x"}` || !bytes.Equal(hash, []byte{1, 2, 3}) {
			t.Fatalf("got %s %x %v", meta, hash, err)
		}
	}},
	{"a public client has no secret hash", func(t *testing.T, e *env) {
		db := e.store()
		if err := db.PutClient(t.Context(), "c1", []byte(`{}`), nil); err != nil {
			t.Fatal(err)
		}
		if _, hash, err := db.Client(t.Context(), "c1"); err != nil || hash != nil {
			t.Fatalf("got hash %x, err %v; want nil, nil", hash, err)
		}
	}},
	{"an unknown client is not found", func(t *testing.T, e *env) {
		if _, _, err := e.store().Client(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	}},
	{"a client id cannot be registered twice", func(t *testing.T, e *env) {
		db := e.store()
		if err := db.PutClient(t.Context(), "c1", []byte(`{}`), nil); err != nil {
			t.Fatal(err)
		}
		if err := db.PutClient(t.Context(), "c1", []byte(`{"evil":true}`), nil); err == nil {
			t.Fatal("second registration of c1 succeeded")
		}
		if meta, _, _ := db.Client(t.Context(), "c1"); string(meta) != `{}` {
			t.Fatalf("metadata changed to %s", meta)
		}
	}},
}

var grantTests = []test{
	{"a grant key is put once: a second put fails and the first value stays", func(t *testing.T, e *env) {
		// What lets replicas that replace the same forgotten connector session agree on one.
		db := e.store()
		putGrant(t, db, "connector-session", "k", "first", time.Hour)
		if err := db.PutGrant(t.Context(), "connector-session", "k", []byte("second"), time.Now().Add(time.Hour)); err == nil {
			t.Fatal("a second put of the same key succeeded")
		}
		if v, err := db.Grant(t.Context(), "connector-session", "k"); err != nil || string(v) != "first" {
			t.Fatalf("after a second put: %q %v, want the first value", v, err)
		}
	}},
	{"a grant can be read repeatedly and taken once", func(t *testing.T, e *env) {
		db := e.store()
		putGrant(t, db, "code", "abc", "v", time.Hour)
		for range 2 {
			if v, err := db.Grant(t.Context(), "code", "abc"); err != nil || string(v) != "v" {
				t.Fatalf("Grant: %q %v", v, err)
			}
		}
		if v, err := db.TakeGrant(t.Context(), "code", "abc"); err != nil || string(v) != "v" {
			t.Fatalf("first TakeGrant: %q %v", v, err)
		}
		if _, err := db.TakeGrant(t.Context(), "code", "abc"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second TakeGrant: %v, want ErrNotFound", err)
		}
		if _, err := db.Grant(t.Context(), "code", "abc"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Grant after take: %v, want ErrNotFound", err)
		}
	}},
	{"an expired grant can be neither read nor taken", func(t *testing.T, e *env) {
		db := e.store()
		putGrant(t, db, "code", "old", "v", -time.Minute)
		if _, err := db.Grant(t.Context(), "code", "old"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Grant: %v, want ErrNotFound", err)
		}
		if _, err := db.TakeGrant(t.Context(), "code", "old"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TakeGrant: %v, want ErrNotFound", err)
		}
	}},
	{"a grant of one kind is not found under another kind", func(t *testing.T, e *env) {
		db := e.store()
		putGrant(t, db, "pending", "k", "v", time.Hour)
		if _, err := db.TakeGrant(t.Context(), "code", "k"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TakeGrant(code): %v, want ErrNotFound", err)
		}
		if v, err := db.TakeGrant(t.Context(), "pending", "k"); err != nil || string(v) != "v" {
			t.Fatalf("TakeGrant(pending): %q %v", v, err)
		}
	}},
	{"DeleteExpired removes expired grants and refresh tokens and keeps live ones", func(t *testing.T, e *env) {
		db := e.store()
		putGrant(t, db, "code", "old", "v", -time.Minute)
		putGrant(t, db, "code", "live", "v", time.Hour)
		putRefresh(t, db, "old-rt", "f1", -time.Minute)
		putRefresh(t, db, "live-rt", "f2", time.Hour)
		if err := db.DeleteExpired(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RefreshFamily(t.Context(), "old-rt"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired refresh token: %v, want ErrNotFound", err)
		}
		if f, err := db.RefreshFamily(t.Context(), "live-rt"); err != nil || f != "f2" {
			t.Fatalf("live refresh token: %q %v", f, err)
		}
		if _, err := db.Grant(t.Context(), "code", "live"); err != nil {
			t.Fatalf("live grant: %v", err)
		}
	}},
}

func putGrant(t *testing.T, db store.Store, kind, key, value string, ttl time.Duration) {
	t.Helper()
	if err := db.PutGrant(t.Context(), kind, key, []byte(value), time.Now().Add(ttl)); err != nil {
		t.Fatal(err)
	}
}

var consentTests = []test{
	{"consent is remembered per subject, client and resource", func(t *testing.T, e *env) {
		db := e.store()
		has := func(sub, client, res string) bool {
			ok, err := db.HasConsent(t.Context(), sub, client, res)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if has("alice", "c1", "https://vs/a") {
			t.Fatal("consent before any was given")
		}
		for range 2 { // giving it twice is not an error
			if err := db.PutConsent(t.Context(), "alice", "c1", "https://vs/a"); err != nil {
				t.Fatal(err)
			}
		}
		if !has("alice", "c1", "https://vs/a") {
			t.Fatal("consent forgotten")
		}
		if has("alice", "c1", "https://vs/b") || has("alice", "c2", "https://vs/a") || has("bob", "c1", "https://vs/a") {
			t.Fatal("consent leaked to another resource, client or subject")
		}
	}},
}

var refreshTests = []test{
	{"a refresh token can be used once, then it reports reuse with its family", func(t *testing.T, e *env) {
		db := e.store()
		if err := db.PutRefreshToken(t.Context(), "rt1", "fam", []byte(`{"sub":"alice"}`), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		fam, grant, err := db.UseRefreshToken(t.Context(), "rt1")
		if err != nil || fam != "fam" || string(grant) != `{"sub":"alice"}` {
			t.Fatalf("first use: %q %s %v", fam, grant, err)
		}
		fam, _, err = db.UseRefreshToken(t.Context(), "rt1")
		if !errors.Is(err, store.ErrReused) || fam != "fam" {
			t.Fatalf("second use: %q %v, want fam and ErrReused", fam, err)
		}
		// Used tokens still resolve, so that revocation and reuse handling can find them.
		if g, err := db.RefreshGrant(t.Context(), "rt1"); err != nil || string(g) != `{"sub":"alice"}` {
			t.Fatalf("RefreshGrant: %s %v", g, err)
		}
		if f, err := db.RefreshFamily(t.Context(), "rt1"); err != nil || f != "fam" {
			t.Fatalf("RefreshFamily: %q %v", f, err)
		}
	}},
	{"an unknown refresh token is not found", func(t *testing.T, e *env) {
		db := e.store()
		if _, _, err := db.UseRefreshToken(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UseRefreshToken: %v", err)
		}
		if _, err := db.RefreshFamily(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RefreshFamily: %v", err)
		}
		if _, err := db.RefreshGrant(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RefreshGrant: %v", err)
		}
	}},
	{"an expired refresh token is not found rather than reused", func(t *testing.T, e *env) {
		db := e.store()
		putRefresh(t, db, "old", "fam", -time.Minute)
		if _, _, err := db.UseRefreshToken(t.Context(), "old"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	}},
	{"revoking a family makes its unused tokens report reuse and spares other families", func(t *testing.T, e *env) {
		db := e.store()
		putRefresh(t, db, "a1", "famA", time.Hour)
		putRefresh(t, db, "a2", "famA", time.Hour)
		putRefresh(t, db, "b1", "famB", time.Hour)
		if err := db.RevokeRefreshFamily(t.Context(), "famA"); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{"a1", "a2"} {
			if fam, _, err := db.UseRefreshToken(t.Context(), tok); !errors.Is(err, store.ErrReused) || fam != "famA" {
				t.Fatalf("%s: %q %v, want famA and ErrReused", tok, fam, err)
			}
		}
		if fam, _, err := db.UseRefreshToken(t.Context(), "b1"); err != nil || fam != "famB" {
			t.Fatalf("b1: %q %v", fam, err)
		}
	}},
}

func putRefresh(t *testing.T, db store.Store, token, family string, ttl time.Duration) {
	t.Helper()
	if err := db.PutRefreshToken(t.Context(), token, family, []byte(`{}`), time.Now().Add(ttl)); err != nil {
		t.Fatal(err)
	}
}

var signingKeyTests = []test{
	{"signing keys come back newest first with their creation time in seconds", func(t *testing.T, e *env) {
		db := e.store()
		if ks, err := db.SigningKeys(t.Context()); err != nil || len(ks) != 0 {
			t.Fatalf("empty store: %v %v", ks, err)
		}
		now := time.Now()
		for i, kid := range []string{"old", "mid", "new"} {
			k := store.SigningKey{KID: kid, PrivateDER: []byte("der-" + kid), Created: now.Add(time.Duration(i-2) * time.Hour)}
			if err := db.AddSigningKey(t.Context(), k); err != nil {
				t.Fatal(err)
			}
		}
		ks, err := db.SigningKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 3 || ks[0].KID != "new" || ks[1].KID != "mid" || ks[2].KID != "old" {
			t.Fatalf("got %v, want new, mid, old", ks)
		}
		if string(ks[0].PrivateDER) != "der-new" || ks[0].Created.Unix() != now.Unix() {
			t.Fatalf("newest key: %q created %v, want der-new created %v", ks[0].PrivateDER, ks[0].Created, now.Unix())
		}
	}},
	{"a key id cannot be stored twice", func(t *testing.T, e *env) {
		db := e.store()
		k := store.SigningKey{KID: "k", PrivateDER: []byte("a"), Created: time.Now()}
		if err := db.AddSigningKey(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		k.PrivateDER = []byte("b")
		if err := db.AddSigningKey(t.Context(), k); err == nil {
			t.Fatal("second key with the same kid was stored")
		}
	}},
}

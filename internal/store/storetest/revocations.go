package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/store"
)

func revocationIDs(t *testing.T, db store.Store) []string {
	t.Helper()
	rs, err := db.Revocations(t.Context())
	if err != nil {
		t.Fatalf("Revocations: %v", err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, string(r.Kind)+":"+r.ID)
	}
	slices.Sort(ids)
	return ids
}

func version(t *testing.T, db store.Store) store.RevocationsVersion {
	t.Helper()
	v, err := db.RevocationsVersion(t.Context())
	if err != nil {
		t.Fatalf("RevocationsVersion: %v", err)
	}
	return v
}

var revocationTests = []test{
	{"a revocation made through one replica is listed through another, and changes the version", func(t *testing.T, e *env) {
		a, b := e.store(), e.store()
		before := version(t, b)
		if err := a.Revoke(t.Context(), store.Revocation{Kind: store.RevokedToken, ID: "jti-1", Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := a.Revoke(t.Context(), store.Revocation{Kind: store.RevokedFamily, ID: "fid-1", Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got := revocationIDs(t, b); !slices.Equal(got, []string{"fid:fid-1", "jti:jti-1"}) {
			t.Fatalf("B lists %v", got)
		}
		if after := version(t, b); after == before {
			t.Fatalf("the version did not change: %+v", after)
		}
	}},
	{"revoking twice keeps one entry with the later expiry, whichever came first", func(t *testing.T, e *env) {
		db := e.store()
		earlier := time.Now().Add(time.Hour).Truncate(time.Second)
		later := earlier.Add(time.Hour)
		for _, order := range [][]time.Time{{later, earlier}, {earlier, later}} {
			id := fmt.Sprintf("j-%d", order[0].Unix())
			for _, exp := range order {
				if err := db.Revoke(t.Context(), store.Revocation{Kind: store.RevokedToken, ID: id, Expires: exp}); err != nil {
					t.Fatal(err)
				}
			}
		}
		rs, err := db.Revocations(t.Context())
		if err != nil || len(rs) != 2 {
			t.Fatalf("Revocations: %+v %v, want two entries", rs, err)
		}
		for _, r := range rs {
			if !r.Expires.Equal(later) || r.Kind != store.RevokedToken {
				t.Fatalf("%s: %+v, want the later expiry %v", r.ID, r, later)
			}
		}
	}},
	{"an expired revocation is not listed and is deleted with the expired state", func(t *testing.T, e *env) {
		db := e.store()
		if err := db.Revoke(t.Context(), store.Revocation{Kind: store.RevokedToken, ID: "old", Expires: time.Now().Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := db.Revoke(t.Context(), store.Revocation{Kind: store.RevokedToken, ID: "live", Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got := revocationIDs(t, db); !slices.Equal(got, []string{"jti:live"}) {
			t.Fatalf("listed %v", got)
		}
		before := version(t, db)
		if err := db.DeleteExpired(t.Context()); err != nil {
			t.Fatal(err)
		}
		if after := version(t, db); after.Count != before.Count-1 {
			t.Fatalf("DeleteExpired left %+v (before %+v)", after, before)
		}
	}},
}

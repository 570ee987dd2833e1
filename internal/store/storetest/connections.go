package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/store"
)

var connectionTests = []test{
	{"a connection round-trips and is found by subject and connector only", func(t *testing.T, e *env) {
		db := e.store()
		exp := time.Now().Add(time.Hour).Truncate(time.Second)
		in := store.Connection{Subject: "alice", Connector: "github", KeyID: "k1", Sealed: []byte{0, 1, 2, 0xff}, Expires: exp}
		if err := db.PutConnection(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		got, err := db.Connection(t.Context(), "alice", "github")
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != "alice" || got.Connector != "github" || got.KeyID != "k1" || !bytes.Equal(got.Sealed, in.Sealed) || !got.Expires.Equal(exp) || got.Updated.IsZero() {
			t.Fatalf("got %+v, want %+v with an update time", got, in)
		}
		for _, k := range [][2]string{{"bob", "github"}, {"alice", "jira"}} {
			if _, err := db.Connection(t.Context(), k[0], k[1]); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Connection(%s, %s) = %v, want ErrNotFound", k[0], k[1], err)
			}
		}
	}},
	{"putting a connection again replaces it (a refresh, a reconnect, a re-encryption)", func(t *testing.T, e *env) {
		db := e.store()
		for i, keyID := range []string{"old", "new"} {
			c := store.Connection{Subject: "alice", Connector: "github", KeyID: keyID, Sealed: []byte{byte(i)}}
			if err := db.PutConnection(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Connection(t.Context(), "alice", "github")
		if err != nil {
			t.Fatal(err)
		}
		if got.KeyID != "new" || !bytes.Equal(got.Sealed, []byte{1}) || !got.Expires.IsZero() {
			t.Fatalf("got %+v, want the second put with an unknown expiry", got)
		}
	}},
	{"deleting a connection forgets it, and deleting none is not an error", func(t *testing.T, e *env) {
		db := e.store()
		for _, conn := range []string{"github", "jira"} {
			if err := db.PutConnection(t.Context(), store.Connection{Subject: "alice", Connector: conn, KeyID: "k", Sealed: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteConnection(t.Context(), "alice", "github"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteConnection(t.Context(), "alice", "github"); err != nil {
			t.Fatalf("deleting again: %v", err)
		}
		if _, err := db.Connection(t.Context(), "alice", "github"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		list, err := db.ConnectionsOf(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Connector != "jira" {
			t.Fatalf("ConnectionsOf = %+v, want only jira", list)
		}
	}},
	{"another replica sees a connection at once", func(t *testing.T, e *env) {
		a, b := e.store(), e.store()
		if err := a.PutConnection(t.Context(), store.Connection{Subject: "alice", Connector: "github", KeyID: "k", Sealed: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Connection(t.Context(), "alice", "github"); err != nil {
			t.Fatalf("replica b: %v", err)
		}
	}},
}

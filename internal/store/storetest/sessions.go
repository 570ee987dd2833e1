package storetest

import (
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/store"
)

func endSession(t *testing.T, db store.Store, key string, ttl time.Duration) {
	t.Helper()
	if err := db.EndSession(t.Context(), key, time.Now().Add(ttl)); err != nil {
		t.Fatal(err)
	}
}

func endedKeys(t *testing.T, db store.Store, since time.Time) map[string]bool {
	t.Helper()
	got, err := db.EndedSessionsSince(t.Context(), since)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, e := range got {
		keys[e.Key] = true
	}
	return keys
}

var endedSessionTests = []test{
	{"a session ended through one replica is ended for another", func(t *testing.T, e *env) {
		a, b := e.store(), e.store()
		start := time.Now().Add(-time.Second)
		endSession(t, a, "nonce-1", time.Hour)
		if got := endedKeys(t, b, start); !got["nonce-1"] || len(got) != 1 {
			t.Fatalf("B sees %v, want nonce-1", got)
		}
	}},
	{"ending a session twice is not an error and keeps one record", func(t *testing.T, e *env) {
		db := e.store()
		endSession(t, db, "nonce-1", time.Hour)
		endSession(t, db, "nonce-1", time.Hour)
		got, err := db.EndedSessionsSince(t.Context(), time.Time{})
		if err != nil || len(got) != 1 || got[0].Ended.IsZero() || got[0].Expires.Before(time.Now()) {
			t.Fatalf("%+v %v, want one live record", got, err)
		}
	}},
	{"only sessions ended since the given time are returned", func(t *testing.T, e *env) {
		db := e.store()
		endSession(t, db, "old", time.Hour)
		// ended_at has microsecond resolution: mid is a microsecond the old record cannot have.
		for ended := time.Now().UnixMicro(); time.Now().UnixMicro() == ended; {
		}
		mid := time.Now()
		endSession(t, db, "new", time.Hour)
		if got := endedKeys(t, db, mid); got["old"] || !got["new"] {
			t.Fatalf("since mid: %v, want only new", got)
		}
	}},
	{"records of sessions past their expiry are not returned and are deleted", func(t *testing.T, e *env) {
		db := e.store()
		endSession(t, db, "expired", -time.Minute)
		endSession(t, db, "live", time.Hour)
		if got := endedKeys(t, db, time.Time{}); got["expired"] || !got["live"] {
			t.Fatalf("%v, want only live", got)
		}
		if err := db.DeleteExpired(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Ending the expired one again records it afresh: the old row is gone.
		endSession(t, db, "expired", time.Hour)
		if got := endedKeys(t, db, time.Time{}); !got["expired"] || !got["live"] {
			t.Fatalf("after DeleteExpired and a new end: %v", got)
		}
	}},
}

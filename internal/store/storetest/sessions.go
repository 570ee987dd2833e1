package storetest

import (
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/store"
)

func endSession(t *testing.T, st store.Store, key string, ttl time.Duration) {
	t.Helper()
	if err := st.EndSession(t.Context(), key, time.Now().Add(ttl)); err != nil {
		t.Fatal(err)
	}
}

func endedKeys(t *testing.T, st store.Store, since time.Time) map[string]bool {
	t.Helper()
	got, err := st.EndedSessionsSince(t.Context(), since)
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
		st := e.store()
		endSession(t, st, "nonce-1", time.Hour)
		endSession(t, st, "nonce-1", time.Hour)
		got, err := st.EndedSessionsSince(t.Context(), time.Time{})
		if err != nil || len(got) != 1 || got[0].Ended.IsZero() || got[0].Expires.Before(time.Now()) {
			t.Fatalf("%+v %v, want one live record", got, err)
		}
	}},
	{"only sessions ended since the given time are returned", func(t *testing.T, e *env) {
		st := e.store()
		endSession(t, st, "old", time.Hour)
		// ended_at has microsecond resolution: mid is a microsecond the old record cannot have.
		for ended := time.Now().UnixMicro(); time.Now().UnixMicro() == ended; {
		}
		mid := time.Now()
		endSession(t, st, "new", time.Hour)
		if got := endedKeys(t, st, mid); got["old"] || !got["new"] {
			t.Fatalf("since mid: %v, want only new", got)
		}
	}},
	{"records of sessions past their expiry are not returned and are deleted", func(t *testing.T, e *env) {
		st := e.store()
		endSession(t, st, "expired", -time.Minute)
		endSession(t, st, "live", time.Hour)
		if got := endedKeys(t, st, time.Time{}); got["expired"] || !got["live"] {
			t.Fatalf("%v, want only live", got)
		}
		if err := st.DeleteExpired(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Ending the expired one again records it afresh: the old row is gone.
		endSession(t, st, "expired", time.Hour)
		if got := endedKeys(t, st, time.Time{}); !got["expired"] || !got["live"] {
			t.Fatalf("after DeleteExpired and a new end: %v", got)
		}
	}},
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// racers is how many goroutines contend for one code, token or secret: more than a connection
// pool's default size, so that some wait for a connection while others are mid-statement.
const racers = 32

var concurrencyTests = []test{
	{"of many concurrent redemptions of one code exactly one wins", func(t *testing.T, e *env) {
		db := e.store()
		takeRace(t, []store.Store{db})
	}},
	{"of many concurrent uses of one refresh token exactly one wins and the rest see reuse", func(t *testing.T, e *env) {
		db := e.store()
		refreshRace(t, []store.Store{db})
	}},
	{"many concurrent creators of one secret all get the same single value", func(t *testing.T, e *env) {
		db := e.store()
		secretRace(t, []store.Store{db})
	}},
}

var replicaTests = []test{
	{"a code taken through one replica cannot be taken through another", func(t *testing.T, e *env) {
		a, b := e.store(), e.store()
		putGrant(t, a, "code", "c", "v", time.Hour)
		if v, err := a.TakeGrant(t.Context(), "code", "c"); err != nil || string(v) != "v" {
			t.Fatalf("A: %q %v", v, err)
		}
		if _, err := b.TakeGrant(t.Context(), "code", "c"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B: %v, want ErrNotFound", err)
		}
	}},
	{"a refresh token rotated through one replica is detected as reused through another", func(t *testing.T, e *env) {
		a, b := e.store(), e.store()
		putRefresh(t, a, "rt", "fam", time.Hour)
		if _, _, err := a.UseRefreshToken(t.Context(), "rt"); err != nil {
			t.Fatalf("A: %v", err)
		}
		if fam, _, err := b.UseRefreshToken(t.Context(), "rt"); !errors.Is(err, store.ErrReused) || fam != "fam" {
			t.Fatalf("B: %q %v, want fam and ErrReused", fam, err)
		}
	}},
	{"state written through one replica is read through another", func(t *testing.T, e *env) {
		a, b := e.store(), e.store()
		want := mustSecret(t, a, "key", "from-a")
		if got := mustSecret(t, b, "key", "from-b"); string(got) != string(want) {
			t.Fatalf("B's secret %q, A's %q", got, want)
		}
		if err := a.PutClient(t.Context(), "c1", []byte(`{}`), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.Client(t.Context(), "c1"); err != nil {
			t.Fatalf("B cannot see A's client: %v", err)
		}
		insert(t, a, ev("e1", base, nil))
		if got := queryIDs(t, b, audit.Filter{}); fmt.Sprint(got) != "[e1]" {
			t.Fatalf("B sees audit events %v, want [e1]", got)
		}
	}},
	{"concurrent redemptions of one code spread over two replicas have exactly one winner", func(t *testing.T, e *env) {
		takeRace(t, []store.Store{e.store(), e.store()})
	}},
	{"concurrent uses of one refresh token spread over two replicas have exactly one winner", func(t *testing.T, e *env) {
		refreshRace(t, []store.Store{e.store(), e.store()})
	}},
	{"replicas racing to create a secret agree on one value", func(t *testing.T, e *env) {
		secretRace(t, []store.Store{e.store(), e.store()})
	}},
}

func takeRace(t *testing.T, replicas []store.Store) {
	putGrant(t, replicas[0], "code", "contended", "the-grant", time.Hour)
	var won, lost atomic.Int32
	together(racers, func(i int) {
		v, err := replicas[i%len(replicas)].TakeGrant(context.Background(), "code", "contended")
		switch {
		case err == nil && string(v) == "the-grant":
			won.Add(1)
		case errors.Is(err, store.ErrNotFound):
			lost.Add(1)
		default:
			t.Errorf("racer %d: %q %v", i, v, err)
		}
	})
	if won.Load() != 1 || lost.Load() != racers-1 {
		t.Fatalf("%d won and %d lost; want 1 and %d", won.Load(), lost.Load(), racers-1)
	}
}

func refreshRace(t *testing.T, replicas []store.Store) {
	putRefresh(t, replicas[0], "contended", "fam", time.Hour)
	var won, reused atomic.Int32
	together(racers, func(i int) {
		fam, _, err := replicas[i%len(replicas)].UseRefreshToken(context.Background(), "contended")
		switch {
		case err == nil && fam == "fam":
			won.Add(1)
		case errors.Is(err, store.ErrReused) && fam == "fam":
			reused.Add(1)
		default:
			t.Errorf("racer %d: %q %v", i, fam, err)
		}
	})
	if won.Load() != 1 || reused.Load() != racers-1 {
		t.Fatalf("%d won and %d saw reuse; want 1 and %d", won.Load(), reused.Load(), racers-1)
	}
}

func secretRace(t *testing.T, replicas []store.Store) {
	got := make([]string, racers)
	together(racers, func(i int) {
		v, err := replicas[i%len(replicas)].Secret(context.Background(), "contended", func() ([]byte, error) {
			return fmt.Appendf(nil, "value-%d", i), nil
		})
		if err != nil {
			t.Errorf("racer %d: %v", i, err)
		}
		got[i] = string(v)
	})
	for i, v := range got {
		if v != got[0] || v == "" {
			t.Fatalf("racer %d got %q, racer 0 got %q: want one value for all", i, v, got[0])
		}
	}
}

var migrationTests = []test{
	{"opening a database again applies no migration twice and keeps its data", func(t *testing.T, e *env) {
		first := e.store()
		mustSecret(t, first, "k", "kept")
		insert(t, first, ev("e1", base, nil))
		first.Close()
		again := e.store()
		if v := mustSecret(t, again, "k", "new"); string(v) != "kept" {
			t.Fatalf("secret after reopening: %q", v)
		}
		if got := queryIDs(t, again, audit.Filter{}); fmt.Sprint(got) != "[e1]" {
			t.Fatalf("audit events after reopening: %v", got)
		}
	}},
	{"replicas starting at once on an empty database all open it", func(t *testing.T, e *env) {
		const n = 4
		stores := make([]store.Store, n)
		errs := make([]error, n)
		together(n, func(i int) { stores[i], errs[i] = e.open(context.Background()) })
		for i := range n {
			if errs[i] != nil {
				t.Errorf("replica %d: %v", i, errs[i])
				continue
			}
			t.Cleanup(func() { stores[i].Close() })
		}
		if t.Failed() {
			return
		}
		mustSecret(t, stores[0], "k", "v")
		if v := mustSecret(t, stores[n-1], "k", "other"); string(v) != "v" {
			t.Fatalf("last replica read %q", v)
		}
	}},
}

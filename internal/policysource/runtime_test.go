package policysource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
	"github.com/vmcp-dev/vmcp/internal/policysource/opatest"
)

// authzByRole lets in callers whose group maps, through the bundle's data, to a role the data
// allows on the virtual server: policy and data both come from the bundle.
const authzByRole = `package vmcp.authz

import rego.v1

roles contains r if {
	some g in input.groups
	some r in data.vmcp.group_roles[g]
}

decision := {"allow": true, "reason": sprintf("role %s", [min(roles)])} if {
	count(roles & {r | some r in data.vmcp.allowed_roles}) > 0
} else := {"allow": false, "reason": "no allowed role"}
`

func revisionBundle(rev string, allowed ...string) opatest.Bundle {
	return opatest.Bundle{
		Revision: rev,
		Modules:  map[string]string{"vmcp/authz.rego": authzByRole},
		Data: map[string]any{"vmcp": map[string]any{
			"group_roles":   map[string]any{"eng": []any{"developer"}, "ops": []any{"operator"}},
			"allowed_roles": toAny(allowed),
		}},
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// applier stands in for the gateway's apply: it records what it was given, refusing on demand.
type applier struct {
	mu      sync.Mutex
	applied []*policyset.Set
	refuse  error
}

func (a *applier) apply(rt *Runtime) func(*policyset.Set) error {
	return func(s *policyset.Set) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.refuse != nil {
			return a.refuse
		}
		if _, err := s.Prepare(context.Background(), "data.vmcp.authz.decision"); err != nil {
			return err
		}
		a.applied = append(a.applied, s)
		rt.Applied(s)
		return nil
	}
}

func decide(t *testing.T, s *policyset.Set, groups ...string) policyset.Decision {
	t.Helper()
	q, err := s.Prepare(context.Background(), "data.vmcp.authz.decision")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ast.InterfaceToValue(map[string]any{"subject": "alice", "groups": toAny(groups)})
	d, err := q.Decide(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func bundleConfig(t *testing.T, url string, key *opatest.Key) *config.Config {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "bundle.pub")
	if err := os.WriteFile(keyFile, key.PublicPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Path: filepath.Join(dir, "vmcp.yaml")}
	cfg.Policy.Bundle = &config.PolicyBundle{
		URL: url, Resource: "bundles/vmcp.tar.gz",
		MinDelay: time.Second, MaxDelay: time.Second,
		Signing: &config.BundleSigning{PublicKeyFile: keyFile},
	}
	return cfg
}

func TestABundleServiceIsPolledAndASignedChangeIsAppliedWithoutRestartWhileATamperedOneIsRefused(t *testing.T) {
	key := opatest.NewKey(t)
	srv := opatest.NewServer(t, opatest.Build(t, revisionBundle("r1", "developer"), key))
	cfg := bundleConfig(t, srv.URL, key)

	rt, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(context.Background())

	first, err := rt.SetFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.Revision != "r1" {
		t.Fatalf("first revision %q, want r1", first.Revision)
	}
	if d := decide(t, first, "eng"); !d.Allow || d.Reason != "role developer" || d.Revision != "r1" {
		t.Fatalf("r1 decision for eng = %+v; want allow by the bundle's group→role data", d)
	}
	a := &applier{}
	rt.Applied(first)
	rt.OnActivate(a.apply(rt))

	// An unchanged bundle is answered 304 (the plugin sends the ETag back).
	harness.Eventually(t, 10*time.Second, func() error {
		if srv.NotModified.Load() == 0 {
			return errors.New("no If-None-Match poll answered 304 yet")
		}
		return nil
	})

	// A new signed revision is picked up by polling, without restart.
	r2 := revisionBundle("r2", "operator")
	published := time.Now()
	srv.Set(opatest.Build(t, r2, key))
	harness.Eventually(t, 10*time.Second, func() error {
		if status := rt.Status(); status.Revision != "r2" {
			return fmt.Errorf("revision %q", status.Revision)
		}
		return nil
	})
	t.Logf("r2 deciding %v after it was published (polling every 1s)", time.Since(published).Round(time.Millisecond))
	active, _ := rt.SetFor(cfg)
	if d := decide(t, active, "eng"); d.Allow {
		t.Fatalf("r2 should deny eng (only operators allowed); got %+v", d)
	}
	if d := decide(t, active, "ops"); !d.Allow || d.Revision != "r2" {
		t.Fatalf("r2 decision for ops = %+v", d)
	}

	// A bundle whose policies were changed after signing is refused; r2 keeps deciding.
	srv.Set(opatest.Tampered(t, revisionBundle("r3", "developer", "operator"), r2, key))
	harness.Eventually(t, 10*time.Second, func() error {
		if status := rt.Status(); status.LastError == "" {
			return errors.New("tampered bundle not reported yet")
		}
		return nil
	})
	status := rt.Status()
	if status.Revision != "r2" || !strings.Contains(status.LastError, "digest") {
		t.Fatalf("status after tampering = %+v; want r2 still active and a digest mismatch reported", status)
	}
	if active, _ := rt.SetFor(cfg); active.Revision != "r2" {
		t.Fatalf("active revision %q after a tampered bundle, want r2", active.Revision)
	}

	// An unsigned bundle is refused too.
	srv.Set(opatest.Build(t, revisionBundle("r4", "developer"), nil))
	harness.Eventually(t, 10*time.Second, func() error {
		if status := rt.Status(); !strings.Contains(status.LastError, "signature") {
			return fmt.Errorf("last error %q", status.LastError)
		}
		return nil
	})

	// A validly signed bundle that vmcp refuses (the gateway's apply failed) keeps r2 too.
	a.mu.Lock()
	a.refuse = errors.New("extproc: no")
	a.mu.Unlock()
	srv.Set(opatest.Build(t, revisionBundle("r5", "developer"), key))
	harness.Eventually(t, 10*time.Second, func() error {
		if status := rt.Status(); !strings.Contains(status.LastError, "refused by vmcp") {
			return fmt.Errorf("last error %q", status.LastError)
		}
		return nil
	})
	if status := rt.Status(); status.Revision != "r2" {
		t.Fatalf("revision %q after a refused apply, want r2", status.Revision)
	}
}

func TestABundleFileIsReadAndAReplacedFileIsPickedUp(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vmcp.tar.gz")
	if err := os.WriteFile(file, opatest.Build(t, revisionBundle("f1", "developer"), nil), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Path: filepath.Join(dir, "vmcp.yaml")}
	cfg.Policy.Bundle = &config.PolicyBundle{File: "vmcp.tar.gz"}
	rt, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(context.Background())
	first, _ := rt.SetFor(cfg)
	if first.Revision != "f1" {
		t.Fatalf("revision %q, want f1", first.Revision)
	}
	a := &applier{}
	rt.Applied(first)
	rt.OnActivate(a.apply(rt))
	tmp := file + ".new"
	if err := os.WriteFile(tmp, opatest.Build(t, revisionBundle("f2", "operator"), nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if status := rt.Status(); status.Revision != "f2" {
			return fmt.Errorf("revision %q", status.Revision)
		}
		return nil
	})
}

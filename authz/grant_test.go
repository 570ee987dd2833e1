package authz

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
)

func TestAnAllowIsReusedOnlyWhenThePolicyIgnoresTheRequest(t *testing.T) {
	f := newFixture(t)
	if !f.srv.state.Load().policy.perCaller {
		t.Fatal("the default authz policy reads only the caller and virtual server, but its allows are not reused")
	}
	tok := f.token(t, "https://mcp.example.com/v/eng/mcp")
	for range 2 {
		resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok})
		id, err := f.signer.Verify(identityHeader(resp))
		if resp.GetOkResponse() == nil || err != nil || id.Subject != "alice" {
			t.Fatalf("a reused allow lost the caller's identity: %v", resp)
		}
	}

	// A policy that looks at the request decides every request, cached token or not.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(`package vmcp.authz
import rego.v1
decision := {"allow": input.request.headers["user-agent"] != "blocked-agent", "reason": "user agent"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "vmcp.yaml"), []byte(testConfig+"auth: {policies: .}\n"))
	if err != nil {
		t.Fatal(err)
	}
	commit, err := f.srv.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	if f.srv.state.Load().policy.perCaller {
		t.Fatal("a policy reading input.request has its allows reused")
	}
	for i, tc := range []struct {
		agent string
		allow bool
	}{{"ok-agent", true}, {"blocked-agent", false}, {"ok-agent", true}, {"blocked-agent", false}} {
		resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok, "user-agent": tc.agent})
		if (resp.GetOkResponse() != nil) != tc.allow {
			t.Fatalf("request %d with user-agent %s: allowed = %v, want %v", i, tc.agent, resp.GetOkResponse() != nil, tc.allow)
		}
	}
}

// countingLog is a decision log that counts the decisions it receives.
type countingLog struct{ n int }

func (l *countingLog) LogDecision(context.Context, policyset.Record) string {
	l.n++
	return "d"
}

func TestWithDecisionLogsOnEveryRequestIsDecidedAndLogged(t *testing.T) {
	f := newFixture(t)
	set, err := policyset.Load("")
	if err != nil {
		t.Fatal(err)
	}
	log := &countingLog{}
	cfg, _ := config.Load("test.yaml", []byte(testConfig))
	cfg.ActivePolicies = set.WithDecisionLogger(log)
	commit, err := f.srv.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	tok := f.token(t, "https://mcp.example.com/v/eng/mcp")
	for range 3 {
		if resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok}); resp.GetOkResponse() == nil {
			t.Fatalf("denied: %v", resp)
		}
	}
	if log.n != 3 {
		t.Fatalf("%d decisions logged for 3 requests: a kept allow skipped the decision log", log.n)
	}
}

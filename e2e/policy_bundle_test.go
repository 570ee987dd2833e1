package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/policysource/opatest"
	"github.com/vmcp-dev/vmcp/internal/policytool"
)

// The security team's bundle: who gets in comes from data (group → role), and a tool policy
// denies by argument. The mask rule keeps note bodies out of the decision log.
const (
	bundleAuthz = `package vmcp.authz

import rego.v1

roles contains r if {
	some g in input.groups
	some r in data.vmcp.group_roles[g]
}

decision := {"allow": true, "reason": sprintf("role %s", [min(roles & allowed)])} if {
	count(roles & allowed) > 0
} else := {"allow": false, "reason": "no allowed role"}

allowed := {r | some r in data.vmcp.allowed_roles}
`
	bundleTools = `package vmcp.tools

import rego.v1

decision := {"allow": false, "reason": "titles may not mention secrets"} if {
	input.action == "call"
	contains(lower(object.get(input.arguments, "title", "")), "secret")
} else := {"allow": true, "reason": sprintf("risk %s", [object.get(data.vmcp.tool_risk, input.tool.exposed, "low")])}
`
	bundleMask = `package system.log

import rego.v1

mask contains "/input/arguments/body"
`
)

func policyBundle(rev string, allowed ...string) opatest.Bundle {
	roles := make([]any, len(allowed))
	for i, r := range allowed {
		roles[i] = r
	}
	return opatest.Bundle{
		Revision: rev,
		Modules:  map[string]string{"vmcp/authz.rego": bundleAuthz, "vmcp/tools.rego": bundleTools, "system/log/mask.rego": bundleMask},
		Data: map[string]any{"vmcp": map[string]any{
			"group_roles":   map[string]any{"eng": []any{"developer"}, "ops": []any{"operator"}},
			"allowed_roles": roles,
			"tool_risk":     map[string]any{"notes__add_note": "medium"},
		}},
	}
}

type healthz struct {
	Status string `json:"status"`
	Policy struct {
		Revision  string `json:"revision"`
		LastError string `json:"last_error"`
	} `json:"policy"`
}

func (s *system) healthz(t *testing.T) healthz {
	t.Helper()
	resp, err := http.Get("http://" + s.addrs["http"] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthz
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPolicyBundlesDecisionLogsAndDryRunThroughEnvoy(t *testing.T) {
	key := opatest.NewKey(t)
	r1 := policyBundle("r1", "developer")
	bundles := opatest.NewServer(t, opatest.Build(t, r1, key))
	logs := opatest.NewCollector(t)
	keyDir := t.TempDir()
	keyFile := filepath.Join(keyDir, "bundle.pub")
	bundleFile := filepath.Join(keyDir, "r1.tar.gz")
	if err := os.WriteFile(keyFile, key.PublicPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundleFile, opatest.Build(t, r1, key), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSystem(t, func(c *harness.Config) {
		c.Sections = fmt.Sprintf(`policy:
  bundle: {url: %q, min_delay: 1s, max_delay: 1s, signing: {public_key_file: %q}}
  decision_logs: {url: %q, min_delay: 1s, max_delay: 1s, labels: {env: e2e}}
`, bundles.URL, keyFile, logs.URL)
	})
	// Each step is a harness.Step when the steps after it need what it checked, a t.Run when
	// they do not. What the steps share: alice (group eng) in a session, the arguments the tool policy denies,
	// the audit event and decision-log entry of that denial, and tokens for the two groups.
	alice := connect(t, s.url("demo"), s.token("alice", "demo", "--groups", "eng"))
	deniedArgs := map[string]any{"title": "Top SECRET", "body": "the launch codes"}
	var (
		denied   audit.Event
		logged   map[string]any
		eng, ops = s.token("alice", "demo", "--groups", "eng"), s.token("bob", "demo", "--groups", "ops")
		r2       = policyBundle("r2", "operator") // the revision after r1: now only operators get in
	)

	harness.Step(t, "revision r1 lets eng in and denies a call by its arguments", func(t *testing.T) {
		if h := s.healthz(t); h.Policy.Revision != "r1" {
			t.Fatalf("healthz = %+v, want revision r1", h)
		}

		// The bundle's data lets eng (developer) in; its tool policy denies by argument.
		if res := callTool(t, alice, "notes__add_note", map[string]any{"title": "plan", "body": "ship it"}); res.IsError {
			t.Fatalf("allowed call failed: %v", res.Content)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := alice.CallTool(ctx, &mcp.CallToolParams{Name: "notes__add_note", Arguments: deniedArgs}); err == nil || !strings.Contains(err.Error(), "titles may not mention secrets") {
			t.Fatalf("argument-based denial: %v", err)
		}
	})

	harness.Step(t, "the audit events name the revision and the decision id", func(t *testing.T) {
		// Each decision has a decision id of its own.
		db := s.openStore(t)
		defer db.Close()
		harness.Eventually(t, 10*time.Second, func() error {
			events, err := auditEvents(db, audit.Filter{Subject: "alice"})
			if err != nil {
				return err
			}
			authzSeen := false
			for _, e := range events {
				if e.Kind == audit.KindMCP && e.Decision == "allow" && e.Method != "tools/call" {
					// A request the aggregator answered: its event carries authz's decision.
					if e.PolicyRevision != "r1" || e.DecisionID == "" {
						return fmt.Errorf("event without authz's revision or decision id: %+v", e)
					}
					authzSeen = true
				}
				if e.Kind == audit.KindMCP && e.Decision == "deny" {
					denied = e
				}
			}
			if !authzSeen || denied.ID == "" {
				return fmt.Errorf("authz allow seen %v, tool denial seen %v", authzSeen, denied.ID != "")
			}
			return nil
		})
		if denied.PolicyRevision != "r1" || denied.DecisionID == "" {
			t.Fatalf("denied tools/call event = %+v; want revision r1 and a decision id", denied)
		}
	})

	harness.Step(t, "the decision log holds the decision, masked", func(t *testing.T) {
		// The decision log has the same decision, OPA-shaped, with the body masked.
		harness.Eventually(t, 15*time.Second, func() error {
			if logged = logs.ByID(denied.DecisionID); logged == nil {
				return fmt.Errorf("decision %s not in the decision log yet", denied.DecisionID)
			}
			return nil
		})
		if logged["path"] != "vmcp/tools/decision" || logged["labels"].(map[string]any)["env"] != "e2e" ||
			logged["bundles"].(map[string]any)["vmcp"].(map[string]any)["revision"] != "r1" {
			t.Errorf("decision log event %v", logged)
		}
		if raw, _ := json.Marshal(logged); strings.Contains(string(raw), "launch codes") {
			t.Errorf("a masked argument left vmcp: %s", raw)
		}
		if !reflect.DeepEqual(logged["erased"], []any{"/input/arguments/body"}) {
			t.Errorf("erased = %v", logged["erased"])
		}
	})

	t.Run("the live input is the documented one", func(t *testing.T) {
		// The live input is the documented one (policies/input.schema.json).
		raw, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "policies", "input.schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		var schema jsonschema.Schema
		if err := json.Unmarshal(raw, &schema); err != nil {
			t.Fatal(err)
		}
		resolved, err := schema.Resolve(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := resolved.Validate(logged["input"]); err != nil {
			t.Errorf("the live vmcp.tools input does not match policies/input.schema.json: %v", err)
		}
	})

	t.Run("the dry run gives the same answer from the same input", func(t *testing.T) {
		// The dry run of the same question gives the same answer from the same input (less what the
		// mask erased from the log).
		argsJSON, _ := json.Marshal(deniedArgs)
		out, err := exec.Command(harness.BuildVMCP(t), "policy", "eval", "-c", s.configPath, "--bundle", bundleFile, "--json",
			"--user", "alice", "--groups", "eng", "--vs", "demo", "--tool", "notes__add_note", "--args", string(argsJSON)).Output()
		if code := exitStatus(err); code != 3 {
			t.Fatalf("vmcp policy eval: exit %d (want 3, denied): %v\n%s", code, err, out)
		}
		var dry policytool.Answer
		if err := json.Unmarshal(out, &dry); err != nil {
			t.Fatalf("vmcp policy eval --json: %v\n%s", err, out)
		}
		delete(dry.Input.(map[string]any)["arguments"].(map[string]any), "body")
		if !reflect.DeepEqual(dry.Input, logged["input"]) {
			t.Errorf("dry-run input differs from the live one:\n dry %v\nlive %v", dry.Input, logged["input"])
		}
		if !reflect.DeepEqual(dry.Result, logged["result"]) || dry.Revision != "r1" || dry.Allow {
			t.Errorf("dry-run answer %+v, live result %v", dry, logged["result"])
		}
		if !strings.Contains(dry.Rule, "vmcp/tools.rego:") {
			t.Errorf("dry run names rule %q, want a line of vmcp/tools.rego", dry.Rule)
		}
	})

	t.Run("the effective tool list is the one the client is shown", func(t *testing.T) {
		admin := s.token("root", "", "--admin", "--groups", "vmcp-admins")
		out, err := exec.Command(harness.BuildVMCP(t), "policy", "tools", "--server", "http://"+s.addrs["http"], "--token", admin,
			"--as", "alice", "--groups", "eng", "--vs", "demo", "--json").Output()
		if err != nil {
			t.Fatalf("vmcp policy tools: %v\n%s", err, out)
		}
		var effective []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var tool struct{ Name string }
			if err := json.Unmarshal([]byte(line), &tool); err != nil {
				t.Fatalf("vmcp policy tools line %q: %v", line, err)
			}
			effective = append(effective, tool.Name)
		}
		listed := toolNames(t, alice)
		slices.Sort(effective)
		slices.Sort(listed)
		if !slices.Equal(effective, listed) || len(listed) == 0 {
			t.Errorf("effective tools %v, tools/list %v", effective, listed)
		}
	})

	harness.Step(t, "a new signed revision applies without a restart", func(t *testing.T) {
		bundles.Set(opatest.Build(t, r2, key))
		harness.Eventually(t, 15*time.Second, func() error {
			if code, _ := post(t, s.url("demo"), eng); code != http.StatusForbidden {
				return fmt.Errorf("eng under r2: HTTP %d", code)
			}
			if code, _ := post(t, s.url("demo"), ops); code != http.StatusOK {
				return fmt.Errorf("ops under r2: HTTP %d", code)
			}
			return nil
		})
		if h := s.healthz(t); h.Policy.Revision != "r2" {
			t.Fatalf("healthz = %+v, want r2", h)
		}
	})

	harness.Step(t, "a tampered bundle is refused and the last good revision keeps deciding", func(t *testing.T) {
		// A tampered bundle (r3's policies under r2's signature) is refused; r2 keeps deciding.
		bundles.Set(opatest.Tampered(t, policyBundle("r3", "developer", "operator"), r2, key))
		harness.Eventually(t, 15*time.Second, func() error {
			if h := s.healthz(t); h.Policy.LastError == "" {
				return fmt.Errorf("tampered bundle not reported: %+v", h)
			}
			return nil
		})
		if h := s.healthz(t); h.Policy.Revision != "r2" {
			t.Fatalf("healthz after tampering = %+v, want r2 still active", h)
		}
		if code, _ := post(t, s.url("demo"), eng); code != http.StatusForbidden {
			t.Errorf("after a tampered bundle, eng got HTTP %d: the tampered policy decided", code)
		}
		if code, _ := post(t, s.url("demo"), ops); code != http.StatusOK {
			t.Errorf("after a tampered bundle, ops got HTTP %d", code)
		}
	})
}

func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

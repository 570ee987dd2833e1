package policysource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policysource/opatest"
)

// maskSecrets is an OPA mask rule: erase the password argument and replace the email.
const maskSecrets = `package system.log

import rego.v1

mask contains "/input/arguments/password"

mask contains {"op": "upsert", "path": "/input/email", "value": "[masked]"}
`

func TestDecisionsReachTheCollectorInOPAFormatWithMaskedFields(t *testing.T) {
	col := opatest.NewCollector(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "vmcp.tar.gz")
	b := revisionBundle("d1", "developer")
	b.Modules["system/log/mask.rego"] = maskSecrets
	if err := os.WriteFile(file, opatest.Build(t, b, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Path: filepath.Join(dir, "vmcp.yaml")}
	cfg.Policy.Bundle = &config.PolicyBundle{File: "vmcp.tar.gz"}
	cfg.Policy.DecisionLogs = &config.DecisionLogs{URL: col.URL, Labels: map[string]string{"env": "test"},
		MinDelay: time.Second, MaxDelay: time.Second}

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
	set, err := rt.SetFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Applied(set)
	q, err := set.Prepare(ctx, "data.vmcp.tools.decision")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ast.InterfaceToValue(map[string]any{
		"action": "call", "subject": "alice", "email": "alice@example.com", "groups": []any{"eng"},
		"virtual_server": map[string]any{"name": "demo", "access": map[string]any{}},
		"connector":      "db", "tool": map[string]any{"name": "login", "exposed": "db__login"},
		"arguments": map[string]any{"user": "alice", "password": "hunter2"},
	})
	d, err := q.Decide(ctx, in)
	if err != nil || !d.Allow || d.ID == "" || d.Revision != "d1" {
		t.Fatalf("decision %+v, %v; want an allow with a decision id and revision d1", d, err)
	}

	var ev map[string]any
	harness.Eventually(t, 15*time.Second, func() error {
		if ev = col.ByID(d.ID); ev == nil {
			return errors.New("decision not received yet")
		}
		return nil
	})
	raw, _ := json.Marshal(ev)
	t.Logf("decision log event: %s", raw)
	if ev["path"] != "vmcp/tools/decision" {
		t.Errorf("path %v", ev["path"])
	}
	if rev := ev["bundles"].(map[string]any)["vmcp"].(map[string]any)["revision"]; rev != "d1" {
		t.Errorf("bundles.vmcp.revision %v", rev)
	}
	if ev["labels"].(map[string]any)["env"] != "test" || ev["labels"].(map[string]any)["id"] == nil {
		t.Errorf("labels %v: want env=test and OPA's id", ev["labels"])
	}
	if _, err := time.Parse(time.RFC3339Nano, ev["timestamp"].(string)); err != nil {
		t.Errorf("timestamp %v: %v", ev["timestamp"], err)
	}
	if ev["result"].(map[string]any)["allow"] != true {
		t.Errorf("result %v", ev["result"])
	}
	input := ev["input"].(map[string]any)
	args := input["arguments"].(map[string]any)
	if _, ok := args["password"]; ok || args["user"] != "alice" {
		t.Errorf("arguments %v: the password must be erased, the rest kept", args)
	}
	if input["email"] != "[masked]" {
		t.Errorf("email %v: want [masked]", input["email"])
	}
	if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), "alice@example.com") {
		t.Errorf("the secret left the process: %s", raw)
	}
}

func TestMaskRulesInAPolicyDirectoryApplyToItsDecisionLogs(t *testing.T) {
	col := opatest.NewCollector(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mask.rego"), []byte(maskSecrets), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Path: filepath.Join(dir, "vmcp.yaml")}
	cfg.Auth.Policies = "."
	cfg.Policy.DecisionLogs = &config.DecisionLogs{URL: col.URL, MinDelay: time.Second, MaxDelay: time.Second}
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
	set, err := rt.SetFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Applied(set) // loads the directory's modules, mask rule included, into OPA's manager
	q, err := set.Prepare(ctx, "data.vmcp.tools.decision")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ast.InterfaceToValue(map[string]any{
		"action": "call", "subject": "alice", "email": "alice@example.com", "groups": []any{},
		"virtual_server": map[string]any{"name": "demo", "access": map[string]any{}},
		"connector":      "db", "tool": map[string]any{"name": "login", "exposed": "db__login"},
		"arguments": map[string]any{"password": "hunter2"},
	})
	d, err := q.Decide(ctx, in)
	if err != nil || d.ID == "" || !strings.HasPrefix(d.Revision, "sha256:") {
		t.Fatalf("decision %+v, %v; want a decision id and the directory's content revision", d, err)
	}
	var ev map[string]any
	harness.Eventually(t, 15*time.Second, func() error {
		if ev = col.ByID(d.ID); ev == nil {
			return errors.New("decision not received yet")
		}
		return nil
	})
	if raw, _ := json.Marshal(ev); strings.Contains(string(raw), "hunter2") || !strings.Contains(string(raw), d.Revision) {
		t.Errorf("decision log event %s: want the password erased and the revision named", raw)
	}
}

// BenchmarkDecide measures what a decision costs with and without decision logs: with them,
// the request path only adds an id and a queue hand-off (masking and upload run elsewhere).
func BenchmarkDecide(b *testing.B) {
	col := opatest.NewCollector(b)
	in, _ := ast.InterfaceToValue(map[string]any{
		"action": "call", "subject": "alice", "email": "alice@example.com", "groups": []any{"eng"},
		"virtual_server": map[string]any{"name": "demo", "access": map[string]any{"groups": []any{}, "roles": []any{}, "tools": map[string]any{}}},
		"connector":      "notes", "tool": map[string]any{"name": "add_note", "exposed": "notes__add_note"},
		"arguments": map[string]any{"title": "t"},
	})
	for _, logs := range []bool{false, true} {
		b.Run(fmt.Sprintf("decision_logs=%v", logs), func(b *testing.B) {
			cfg := &config.Config{Path: filepath.Join(b.TempDir(), "vmcp.yaml")}
			if logs {
				cfg.Policy.DecisionLogs = &config.DecisionLogs{URL: col.URL}
			}
			rt, err := New(cfg, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			if err := rt.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer rt.Stop(context.Background())
			set, _ := rt.SetFor(cfg)
			rt.Applied(set)
			q, err := set.Prepare(context.Background(), "data.vmcp.tools.decision")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := q.Decide(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

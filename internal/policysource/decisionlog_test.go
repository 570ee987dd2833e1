package policysource

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
	"github.com/vmcp-dev/vmcp/internal/policysource/bundletest"
)

// collector is a decision-log service: it accepts OPA's gzip'd JSON batches on POST /logs.
type collector struct {
	mu     sync.Mutex
	events []map[string]any
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/logs" || r.Header.Get("Content-Encoding") != "gzip" {
		http.Error(w, "want a gzip'd POST /logs", http.StatusBadRequest)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var batch []map[string]any
	if err := json.NewDecoder(zr).Decode(&batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.events = append(c.events, batch...)
	c.mu.Unlock()
}

func (c *collector) byID(id string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if e["decision_id"] == id {
			return e
		}
	}
	return nil
}

// maskSecrets is an OPA mask rule: erase the password argument and replace the email.
const maskSecrets = `package system.log

import rego.v1

mask contains "/input/arguments/password"

mask contains {"op": "upsert", "path": "/input/email", "value": "[masked]"}
`

func TestDecisionsReachTheCollectorInOPAFormatWithMaskedFields(t *testing.T) {
	col := &collector{}
	logs := httptest.NewServer(col)
	defer logs.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "vmcp.tar.gz")
	b := revisionBundle("d1", "developer")
	b.Modules["system/log/mask.rego"] = maskSecrets
	if err := os.WriteFile(file, bundletest.Build(t, b, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Path: filepath.Join(dir, "vmcp.yaml")}
	cfg.Policy.Bundle = &config.PolicyBundle{File: "vmcp.tar.gz"}
	cfg.Policy.DecisionLogs = &config.DecisionLogs{URL: logs.URL, Labels: map[string]string{"env": "test"},
		MinDelay: config.Duration(time.Second), MaxDelay: config.Duration(time.Second)}

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
		if ev = col.byID(d.ID); ev == nil {
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

package routing

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

func compileForTest(t *testing.T, yaml string) *Table {
	t.Helper()
	cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	table, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

const twoConnectors = `connectors:
  - {name: notes, url: "http://127.0.0.1:19001/mcp"}
  - {name: weather, url: "http://127.0.0.1:19002/mcp"}
virtual_servers:
  - name: demo
    connectors: [notes, weather]
`

func decideOn(t *testing.T, table *Table, ctx context.Context, method, params string, catalog Catalog) Decision {
	t.Helper()
	req, rpcErr := ReadRequest(method, []byte(params))
	if rpcErr != nil {
		t.Fatal(rpcErr)
	}
	req.VirtualServer, req.Caller, req.SignedIdentity = table.ByName("demo"), toolpolicy.Caller{Subject: "alice"}, "signed:alice"
	return table.Decide(ctx, req, catalog)
}

// The ctx given to Decide is the deadline for waiting on connectors' lists: past it, the request
// is refused as one whose connectors cannot be listed, not routed on a guess.
func TestTheContextBoundsWhatDecideWaitsOnTheCatalogFor(t *testing.T) {
	table := compileForTest(t, twoConnectors)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cat := &fakeCatalog{table: table, subject: "alice", lists: listing{Resources: map[string][2]string{"notes://1": {"notes", "notes://1"}}}}
	d := decideOn(t, table, ctx, "resources/read", `{"uri":"notes://1"}`, cat)
	if d.Action != Refuse || d.Audit.Outcome != audit.OutcomeUpstream || !errors.Is(d.Cause, context.Canceled) {
		t.Errorf("a resource placed past the deadline: %+v", d)
	}
	if d := decideOn(t, table, context.Background(), "resources/read", `{"uri":"notes://1"}`, cat); d.Action != Route || d.Connector != "notes" {
		t.Errorf("the same resource in time: %+v", d)
	}
}

// A policy decision is not a wait on connectors: a prompt named by the configuration alone is
// decided even when the deadline for the connectors' lists has passed.
func TestPolicyDecisionsDoNotWaitOnTheContext(t *testing.T) {
	table := compileForTest(t, twoConnectors)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cat := &fakeCatalog{table: table, subject: "alice"}
	d := decideOn(t, table, ctx, "prompts/get", `{"name":"notes__summary"}`, cat)
	if d.Action != Route || d.Connector != "notes" || d.Original != "summary" || d.Audit.Decision != "allow" || len(cat.asked) != 0 {
		t.Errorf("a prompt by its prefix after the deadline: %+v, asked %v", d, cat.asked)
	}
}

func TestAVirtualServerIsFoundByPathAndByName(t *testing.T) {
	table := compileForTest(t, twoConnectors+"  - name: ops\n    path: /ops/mcp\n    connectors: [weather]\n")
	if table.ByPath("/v/demo/mcp") != table.ByName("demo") || table.ByName("demo") == nil {
		t.Error("demo is not the same virtual server by its default path and by its name")
	}
	ops := table.ByPath("/ops/mcp")
	if ops == nil || ops != table.ByName("ops") || ops.Name() != "ops" || table.ByPath("/v/ops/mcp") != nil {
		t.Errorf("ops by path %v, by name %v", ops, table.ByName("ops"))
	}
	// A connector of the configuration that is not on the virtual server is unknown there.
	if d := decideOn(t, table, context.Background(), "tools/call", `{"name":"notes__add_note"}`, nil); d.Action != Route {
		t.Errorf("notes on demo: %+v", d)
	}
	req, _ := ReadRequest("tools/call", []byte(`{"name":"notes__add_note"}`))
	req.VirtualServer, req.Caller = ops, toolpolicy.Caller{Subject: "alice"}
	if d := table.Decide(context.Background(), req, nil); d.Action != Refuse || d.Error.Code != -32602 {
		t.Errorf("notes on ops: %+v", d)
	}
}

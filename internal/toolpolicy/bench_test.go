package toolpolicy

import (
	"context"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/cputime"
)

// benchConfig restricts some tools to a group, so the policy's glob and group rules both run.
const benchConfig = `
connectors:
  - name: notes
    url: http://127.0.0.1:19001/mcp
virtual_servers:
  - name: eng
    connectors: [notes]
    access:
      tools:
        "notes__delete_*": [admins]
        "notes__list_*": [eng, writers]
`

// BenchmarkDecide is one vmcp.tools decision as extproc makes it for a tools/call (with
// arguments) and as the aggregator makes it for each listed tool.
func BenchmarkDecide(b *testing.B) {
	cfg, err := config.Load("bench.yaml", []byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	vs := &cfg.VirtualServers[0]
	scope := NewScope(Caller{Subject: "alice", Email: "alice@example.com", ClientID: "c1", Groups: []string{"eng"}}, NewVirtualServer(vs.Name, vs.Access))
	for _, tc := range []struct {
		name string
		in   Input
	}{
		{"call", Input{Action: ActionCall, Scope: scope, Connector: "notes", Tool: "list_notes", Exposed: "notes__list_notes",
			Arguments: map[string]any{"query": "quarterly report", "limit": 10.0}}},
		{"list", Input{Action: ActionList, Scope: scope, Connector: "notes", Tool: "add_note", Exposed: "notes__add_note"}},
	} {
		// Decide is what the request path pays (a reused decision once the question was
		// asked); evaluate is one Rego evaluation, the cost of a question asked the first time.
		for _, fn := range []struct {
			name   string
			decide func(context.Context, Input) (Decision, error)
		}{{"", p.Decide}, {"/evaluate", p.evaluate}} {
			b.Run(tc.name+fn.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				stop := cputime.Start(b)
				for b.Loop() {
					d, err := fn.decide(ctx, tc.in)
					if err != nil || !d.Allow {
						b.Fatalf("decision = %+v, %v; want allow", d, err)
					}
				}
				stop()
			})
		}
	}
}

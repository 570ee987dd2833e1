package toolpolicy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
)

// compileWith compiles the default policies, or vmcp.tools from src when it is not empty.
func compileWith(t *testing.T, src string) (*Policy, VirtualServer) {
	t.Helper()
	dir := t.TempDir()
	yaml := benchConfig
	if src != "" {
		if err := os.WriteFile(filepath.Join(dir, "tools.rego"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		yaml = "auth: {policies: .}\n" + yaml
	}
	cfg, err := config.Load(filepath.Join(dir, "vmcp.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	vs := &cfg.VirtualServers[0]
	return p, NewVirtualServer(vs.Name, vs.Access)
}

func decide(t *testing.T, p *Policy, in Input) Decision {
	t.Helper()
	d, err := p.Decide(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReusedDecisionsStayPerCallerAndTool(t *testing.T) {
	p, vs := compileWith(t, "")
	if p.memo == nil {
		t.Fatal("the default policies are deterministic, but their decisions are not reused")
	}
	admin := NewScope(Caller{Subject: "alice", Groups: []string{"admins"}}, vs)
	eng := NewScope(Caller{Subject: "alice", Groups: []string{"eng"}}, vs)
	// Same subject, another group: a key of the subject alone would hand over admin's answer.
	for range 3 {
		for _, tc := range []struct {
			scope Scope
			tool  string
			want  bool
		}{
			{admin, "notes__delete_all", true}, {eng, "notes__delete_all", false},
			{eng, "notes__list_notes", true}, {admin, "notes__list_notes", false},
			{eng, "notes__add_note", true},
		} {
			if d := decide(t, p, Input{Action: ActionCall, Scope: tc.scope, Connector: "notes", Tool: tc.tool[7:], Exposed: tc.tool}); d.Allow != tc.want {
				t.Fatalf("%s by %s: allow = %v, want %v (%s)", tc.tool, tc.scope.key, d.Allow, tc.want, d.Reason)
			}
		}
	}
}

func TestCallerKeysDoNotCollide(t *testing.T) {
	a := callerKey(Caller{Subject: "a\x00b", Email: "c"})
	b := callerKey(Caller{Subject: "a", Email: "b\x00c"})
	c := callerKey(Caller{Subject: "a", Groups: []string{"b", "c"}})
	d := callerKey(Caller{Subject: "a", Groups: []string{"b,c"}})
	if a == b || c == d {
		t.Fatalf("distinct callers share a key: %q %q %q %q", a, b, c, d)
	}
}

func TestAPolicyReadingArgumentsDecidesEachCallOnItsOwn(t *testing.T) {
	p, vs := compileWith(t, `package vmcp.tools
import rego.v1
decision := {"allow": input.arguments.limit <= 10, "reason": "limit"} if input.action == "call"
decision := {"allow": true, "reason": "list"} if input.action == "list"
`)
	scope := NewScope(Caller{Subject: "alice"}, vs)
	for range 3 {
		for limit, want := range map[float64]bool{5: true, 50: false} {
			d := decide(t, p, Input{Action: ActionCall, Scope: scope, Connector: "notes", Tool: "t", Exposed: "notes__t", Arguments: map[string]any{"limit": limit}})
			if d.Allow != want {
				t.Fatalf("limit %v: allow = %v, want %v", limit, d.Allow, want)
			}
		}
	}
}

func TestAPolicyReadingTheClockIsAlwaysEvaluated(t *testing.T) {
	p, _ := compileWith(t, `package vmcp.tools
import rego.v1
decision := {"allow": time.now_ns() > 0, "reason": "clock"}
`)
	if p.memo != nil {
		t.Fatal("a policy calling time.now_ns has its decisions reused")
	}
}

// countingLog is a decision log that numbers the decisions it receives.
type countingLog struct{ n int }

func (l *countingLog) LogDecision(_ context.Context, r policyset.Record) string {
	l.n++
	return fmt.Sprintf("decision-%d", l.n)
}

func TestWithDecisionLogsOnEveryDecisionIsEvaluatedAndLogged(t *testing.T) {
	cfg, err := config.Load("vmcp.yaml", []byte(benchConfig))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policyset.Load("")
	if err != nil {
		t.Fatal(err)
	}
	log := &countingLog{}
	cfg.ActivePolicies = set.WithDecisionLogger(log)
	p, err := Compile(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	vs := &cfg.VirtualServers[0]
	in := Input{Action: ActionList, Scope: NewScope(Caller{Subject: "alice"}, NewVirtualServer(vs.Name, vs.Access)), Connector: "notes", Tool: "t", Exposed: "notes__t"}
	for i := 1; i <= 3; i++ {
		if d := decide(t, p, in); d.ID != fmt.Sprintf("decision-%d", i) {
			t.Fatalf("decision %d has log id %q: a reused decision would be missing from the log", i, d.ID)
		}
	}
}

// vmcp.connectors answers for a connector's resources, templates and prompts, with reuse kept
// apart per caller and from vmcp.tools' answers about the same connector and name.
func TestPrimitiveDecisionsFollowAccessConnectorsPerCaller(t *testing.T) {
	cfg, err := config.Load("vmcp.yaml", []byte(`
connectors:
  - name: notes
    url: http://127.0.0.1:19001/mcp
  - name: weather
    url: http://127.0.0.1:19002/mcp
virtual_servers:
  - name: eng
    connectors: [notes, weather]
    access:
      connectors: {notes: [admins]}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	vs := NewVirtualServer("eng", cfg.VirtualServers[0].Access)
	admin := NewScope(Caller{Subject: "alice", Groups: []string{"admins"}}, vs)
	eng := NewScope(Caller{Subject: "alice", Groups: []string{"eng"}}, vs)
	for range 2 { // the second round answers from reused decisions
		for _, tc := range []struct {
			scope     Scope
			connector string
			want      bool
		}{{admin, "notes", true}, {eng, "notes", false}, {eng, "weather", true}} {
			for _, prim := range []string{PrimitiveResource, PrimitiveResourceTemplate, PrimitivePrompt} {
				for _, action := range []string{ActionList, ActionRead} {
					d, err := p.DecidePrimitive(context.Background(), PrimitiveInput{Action: action, Primitive: prim, Scope: tc.scope, Connector: tc.connector, Name: "x"})
					if err != nil || d.Allow != tc.want {
						t.Errorf("%s %s of %s for %v: %+v %v, want allow %v", action, prim, tc.connector, tc.scope.key, d, err, tc.want)
					}
				}
			}
			// The connector's tools follow the same restriction through vmcp.tools.
			d := decide(t, p, Input{Action: ActionList, Scope: tc.scope, Connector: tc.connector, Tool: "x", Exposed: "x"})
			if d.Allow != tc.want {
				t.Errorf("tool x of %s for %v: %+v, want allow %v", tc.connector, tc.scope.key, d, tc.want)
			}
		}
	}
}

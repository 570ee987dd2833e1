package audit

import (
	"fmt"
	"testing"
)

func TestAHandoffSurvivesItsHeaderWhateverTheReasonSays(t *testing.T) {
	h := Handoff{ID: "01JB", Policy: "team.rego", Reason: "role eng & group=ops; 100% ✓\n", PolicyRevision: "r7", DecisionID: "d-1"}
	got, ok := ParseHandoff(h.Encode())
	if !ok || got != h {
		t.Fatalf("ParseHandoff(Encode(%+v)) = %+v, %v", h, got, ok)
	}
	for _, bad := range []string{"", "policy=x", "%zz", "id="} {
		if _, ok := ParseHandoff(bad); ok {
			t.Errorf("ParseHandoff(%q) accepted a value without an id", bad)
		}
	}
}

func TestARequestsEventKeepsItsOwnDecisionOverAuthzs(t *testing.T) {
	h := Handoff{ID: "01JB", Policy: "authz", Reason: "member", PolicyRevision: "r1", DecisionID: "d-authz"}

	list := Event{Kind: KindMCP, Method: "tools/list"}
	h.Apply(&list)
	if list.ID != "01JB" || list.Decision != "allow" || list.Policy != "authz" || list.Reason != "member" || list.DecisionID != "d-authz" {
		t.Errorf("a request with no decision of its own: %+v; want authz's", list)
	}

	call := Event{Kind: KindMCP, Method: "tools/call", Decision: "deny", Policy: "tools", Reason: "not for interns", DecisionID: "d-tool"}
	h.Apply(&call)
	if call.ID != "01JB" || call.Decision != "deny" || call.Policy != "tools" || call.Reason != "not for interns" || call.DecisionID != "d-tool" {
		t.Errorf("a call the tool policy decided: %+v; want its own decision under authz's id", call)
	}

	failed := Event{Kind: KindMCP, Reason: "session not found"}
	h.Apply(&failed)
	if failed.Reason != "session not found" || failed.Decision != "allow" {
		t.Errorf("a request that failed after authz: %+v; want its own reason and authz's decision", failed)
	}
}

func TestABatchWritesOnlyTheEventThatStays(t *testing.T) {
	decision := Event{ID: "a", Kind: KindAuthz, Decision: "allow"}
	call := Event{ID: "a", Kind: KindMCP, Outcome: OutcomeOK}
	pending := Event{ID: "b", Kind: KindMCP, Outcome: OutcomeUnknown}
	done := Event{ID: "b", Kind: KindMCP, Outcome: OutcomeToolError}
	denied := Event{ID: "c", Kind: KindAuthz, Decision: "deny"}
	replayed := Event{ID: "c", Kind: KindAuthz, Decision: "deny"}

	got := coalesce([]Event{decision, pending, denied, call, done, replayed})
	want := "[a mcp ok] [b mcp tool_error] [c authz ] [c authz ]"
	if s := describe(got); s != want {
		t.Errorf("coalesce = %s; want %s (a replay is left to the store, which skips it)", s, want)
	}
	// An event never gives way to an earlier one.
	if s := describe(coalesce([]Event{call, decision})); s != "[a mcp ok] [a authz ]" {
		t.Errorf("coalesce(call, decision) = %s; want both, for the store to keep the call", s)
	}
}

func describe(evs []Event) string {
	s := ""
	for i, e := range evs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("[%s %s %s]", e.ID, e.Kind, e.Outcome)
	}
	return s
}

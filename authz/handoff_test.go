package authz

import (
	"sync"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

// events is an audit.Sink that keeps what it is given.
type events struct {
	mu  sync.Mutex
	all []audit.Event
}

func (s *events) Record(ev audit.Event) {
	s.mu.Lock()
	s.all = append(s.all, ev)
	s.mu.Unlock()
}

// An allowed request's decision is recorded under an id authz hands on with the request, with
// the decision, so that the request's own event can take its place; a client's forged hand-off
// is overwritten, not kept beside it, and not removed after authz's own is set.
func TestAnAllowedRequestHandsItsDecisionOnUnderTheIDItWasRecordedBy(t *testing.T) {
	f := newFixture(t)
	sink := &events{}
	f.srv.audit = sink
	token := f.token(t, "https://mcp.example.com/v/eng/mcp")
	for _, round := range []string{"decided", "from the cached grant"} {
		sink.all = nil
		resp := check(t, f.srv, "/v/eng/mcp", map[string]string{
			"authorization":   "Bearer " + token,
			"x-vmcp-decision": "id=01FORGED&policy=forged",
		})
		ok := resp.GetOkResponse()
		if ok == nil || len(sink.all) != 1 {
			t.Fatalf("%s: allowed %v, %d events recorded; want an allow and one event", round, ok != nil, len(sink.all))
		}
		for _, r := range ok.HeadersToRemove {
			if r == headers.Decision {
				t.Errorf("%s: %s is removed, which would drop authz's own too", round, r)
			}
		}
		var set []string
		for _, h := range ok.Headers {
			if h.Header.Key == headers.Decision {
				set = append(set, h.Header.Value)
			}
		}
		if len(set) != 1 {
			t.Fatalf("%s: %s set %d times; want once", round, headers.Decision, len(set))
		}
		h, parsed := audit.ParseHandoff(set[0])
		ev := sink.all[0]
		if !parsed || ev.ID == "" || h.ID != ev.ID || h.ID == "01FORGED" {
			t.Errorf("%s: hand-off %+v for the event %q; want its id", round, h, ev.ID)
		}
		if ev.Kind != audit.KindAuthz || ev.Decision != "allow" || h.Policy != ev.Policy || h.Reason != ev.Reason || h.PolicyRevision != ev.PolicyRevision {
			t.Errorf("%s: hand-off %+v for the event %+v; want its decision", round, h, ev)
		}
	}
}

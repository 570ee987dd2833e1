package audit

import (
	"net/url"
	"strings"
)

// A request authz allows gets one row in the audit trail, not two. authz records its decision
// at once, under an id it picks, and hands that id and the decision on with the request
// (Handoff, in the x-vmcp-decision header). Whatever records the request itself (extproc for a
// routed call, the aggregator for the rest) records it under the same id, and the store keeps
// that event in place of authz's (Replaces). If the request never gets that far (the client
// went away before its body came, say), authz's event is the row that stays.

// Handoff is authz's decision on a request it allowed, as the component that records the
// request receives it.
type Handoff struct {
	// ID is the id of authz's event, which the request's own event replaces.
	ID             string
	Policy         string
	Reason         string
	PolicyRevision string
	DecisionID     string
}

// Encode writes h as one header value (URL query encoding: any text survives it). Written by
// hand rather than through url.Values, which costs authz a map and a sort per allowed request.
func (h Handoff) Encode() string {
	var b strings.Builder
	b.Grow(len(h.ID) + len(h.Policy) + len(h.Reason) + len(h.PolicyRevision) + len(h.DecisionID) + 48)
	b.WriteString("id=")
	b.WriteString(url.QueryEscape(h.ID))
	for _, f := range [...]struct{ key, value string }{
		{"policy", h.Policy}, {"reason", h.Reason}, {"revision", h.PolicyRevision}, {"decision_id", h.DecisionID},
	} {
		if f.value != "" {
			b.WriteString("&" + f.key + "=")
			b.WriteString(url.QueryEscape(f.value))
		}
	}
	return b.String()
}

// ParseHandoff reads a header value Encode wrote; false when there is none or it has no id.
func ParseHandoff(s string) (Handoff, bool) {
	if s == "" {
		return Handoff{}, false
	}
	v, err := url.ParseQuery(s)
	if err != nil || v.Get("id") == "" {
		return Handoff{}, false
	}
	return Handoff{ID: v.Get("id"), Policy: v.Get("policy"), Reason: v.Get("reason"), PolicyRevision: v.Get("revision"), DecisionID: v.Get("decision_id")}, true
}

// TakeOver makes ev the event that replaces authz's decision handed on in header (the
// x-vmcp-decision value, as Encode wrote it), when there is one: see Apply. Read when ev is
// recorded, so that a request recorded elsewhere costs nothing here.
func TakeOver(ev *Event, header string) {
	if h, ok := ParseHandoff(header); ok {
		h.Apply(ev)
	}
}

// Apply makes ev the event that replaces authz's: the same id, and authz's decision unless ev
// has a decision of its own (a tools/call's tool policy, which is the more specific one).
func (h Handoff) Apply(ev *Event) {
	ev.ID = h.ID
	if ev.Decision != "" {
		return
	}
	ev.Decision, ev.Policy, ev.PolicyRevision, ev.DecisionID = "allow", h.Policy, h.PolicyRevision, h.DecisionID
	if ev.Reason == "" {
		ev.Reason = h.Reason
	}
}

// Replaces says whether incoming, an event with the id of stored, takes its place in the store:
// a request's own event replaces authz's decision (Handoff), and a complete event one recorded
// without its outcome (Recorder.Pending). Anything else with an id already stored is a replay
// and changes nothing. The SQL stores say the same in their insert (internal/store).
func Replaces(incoming, stored *Event) bool {
	return stored.Kind == KindAuthz && incoming.Kind != KindAuthz ||
		stored.Outcome == OutcomeUnknown && incoming.Outcome != OutcomeUnknown
}

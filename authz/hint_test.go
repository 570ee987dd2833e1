package authz

import (
	"testing"

	"github.com/vmcp-dev/vmcp/internal/headers"
)

// A tools/call whose Mcp-Name maps to a connector gets that connector's route hint, and on the
// hinted (plain) route authz does what extproc cannot do there: remove the headers that must
// not reach a connector, and pass on the ones extproc reads. Anything else gets no hint, and a
// hint the client sent itself is removed.
func TestAToolCallNamingAConnectorGetsItsRouteHint(t *testing.T) {
	f := newFixture(t)
	token := "Bearer " + f.token(t, "https://mcp.example.com/v/eng/mcp")
	hint := func(hs map[string]string) (string, map[string]bool, map[string]bool) {
		hs["authorization"] = token
		ok := check(t, f.srv, "/v/eng/mcp", hs).GetOkResponse()
		if ok == nil {
			t.Fatalf("denied: %v", hs)
		}
		removed := map[string]bool{}
		for _, h := range ok.HeadersToRemove {
			removed[h] = true
		}
		set := map[string]bool{}
		got := ""
		for _, h := range ok.Headers {
			set[h.Header.Key] = true
			if h.Header.Key == headers.RouteHint {
				got = h.Header.Value
			}
		}
		return got, removed, set
	}

	got, removed, _ := hint(map[string]string{"mcp-method": "tools/call", "mcp-name": "notes__add_note", "cookie": "c=1", "mcp-session-id": "s"})
	if got != "notes" {
		t.Fatalf("hint = %q, want notes", got)
	}
	if !removed["cookie"] || removed["mcp-session-id"] {
		t.Errorf("on a plain route authz removes what must not reach a connector and only that; removed %v", removed)
	}

	for name, hs := range map[string]map[string]string{
		"another method":          {"mcp-method": "tools/list"},
		"a name of no connector":  {"mcp-method": "tools/call", "mcp-name": "nobody__x"},
		"no mirrored headers":     {},
		"a hint the client wrote": {headers.RouteHint: "notes"},
		// extproc refuses it from its headers on the general route (413), before Envoy
		// buffers it.
		"a body over max_request_bytes": {"mcp-method": "tools/call", "mcp-name": "notes__add_note", "content-length": "5242880"},
	} {
		got, removed, _ := hint(hs)
		if got != "" {
			t.Errorf("%s: hint %q", name, got)
		}
		if _, sent := hs[headers.RouteHint]; sent && !removed[headers.RouteHint] {
			t.Errorf("%s: the client's hint header is not removed", name)
		}
	}
}

// modernConnectors speak 2026-07-28 as far as authz is told.
type modernConnectors map[string]bool

func (m modernConnectors) SpeaksModern(_, connector string) bool { return m[connector] }

// A 2026-07-28 tools/call to a connector known to speak 2026-07-28 is sent to its direct route
// (the direct-answer header beside the hint). A call from an older client, or to a connector not
// known to be modern, is not; nor can a client ask for a direct route itself.
func TestAModernCallToAModernConnectorIsSentToItsDirectRoute(t *testing.T) {
	f := newFixture(t)
	f.srv.SetConnectorRevisions(modernConnectors{"notes": true})
	token := "Bearer " + f.token(t, "https://mcp.example.com/v/eng/mcp")
	direct := func(hs map[string]string) (bool, string) {
		hs["authorization"] = token
		ok := check(t, f.srv, "/v/eng/mcp", hs).GetOkResponse()
		if ok == nil {
			t.Fatalf("denied: %v", hs)
		}
		got, hint := false, ""
		for _, h := range ok.Headers {
			switch h.Header.Key {
			case headers.DirectAnswer:
				got = true
			case headers.RouteHint:
				hint = h.Header.Value
			}
		}
		return got, hint
	}
	modern := map[string]string{"mcp-method": "tools/call", "mcp-name": "notes__add_note", "mcp-protocol-version": "2026-07-28"}
	if got, hint := direct(modern); !got || hint != "notes" {
		t.Errorf("a modern call to a modern connector: direct %v, hint %q; want direct to notes", got, hint)
	}
	for name, hs := range map[string]map[string]string{
		"a 2025 client":          {"mcp-method": "tools/call", "mcp-name": "notes__add_note", "mcp-protocol-version": "2025-11-25"},
		"a client asking for it": {"mcp-method": "tools/list", headers.DirectAnswer: "1"},
	} {
		if got, _ := direct(hs); got {
			t.Errorf("%s: sent to a direct route", name)
		}
	}
	// The same call, to a connector not known to be modern: its plain route.
	f.srv.SetConnectorRevisions(modernConnectors{})
	if got, hint := direct(modern); got || hint != "notes" {
		t.Errorf("a modern call to a connector not known as modern: direct %v, hint %q; want the plain route to notes", got, hint)
	}
}

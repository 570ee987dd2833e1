package notes

import (
	"encoding/json"
	"testing"
)

func sessionOf(t *testing.T, text string) sessionInfo {
	t.Helper()
	var info sessionInfo
	if err := json.Unmarshal([]byte(text), &info); err != nil {
		t.Fatalf("session_info answered %q: %v", text, err)
	}
	return info
}

// session_info tells two sessions apart and counts each one's calls, although the notes are
// shared: what vmcp's tests use to check which connector session served a call.
func TestSessionInfoTellsSessionsApartAndCountsTheirCalls(t *testing.T) {
	srv := startNotes(t, Options{Token: testToken})
	a := connect(t, srv.URL, testToken)
	b := connect(t, srv.URL, testToken)

	text, _ := call(t, a, "session_info", map[string]any{})
	first := sessionOf(t, text)
	if first.Session == "" || first.Session != a.ID() || first.Calls != 1 {
		t.Fatalf("first call = %+v, want session %q with 1 call", first, a.ID())
	}
	call(t, a, "list_notes", map[string]any{})
	text, _ = call(t, b, "session_info", map[string]any{})
	if other := sessionOf(t, text); other.Session == first.Session || other.Calls != 1 {
		t.Fatalf("another session = %+v, want its own id and 1 call", other)
	}
	text, _ = call(t, a, "session_info", map[string]any{})
	if again := sessionOf(t, text); again.Session != first.Session || again.Calls != 3 {
		t.Fatalf("third call of the first session = %+v, want %q with 3 calls", again, first.Session)
	}
}

package toolglob

import "testing"

// toolNameCharacters are the characters vmcp routes in a tool name: ASCII letters, digits, "_",
// "-", "." (MCP 2025-11-25) and "/" (SEP-986).
const toolNameCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./"

// A restriction covering a connector's prefix covers every tool of it, whatever tool-name
// characters its name holds.
func TestAPrefixGlobCoversEveryToolNameCharacter(t *testing.T) {
	for _, c := range toolNameCharacters {
		for _, name := range []string{"notes__" + string(c), "notes__a" + string(c) + "b", "notes__" + string(c) + string(c) + "x" + string(c)} {
			if !Match("notes__*", name) {
				t.Errorf("notes__* does not match %q", name)
			}
			if Match("weather__*", name) {
				t.Errorf("weather__* matches %q", name)
			}
		}
	}
	if !Match("notes__admin*purge", "notes__admin.v2/purge") {
		t.Error("a glob in the middle stops at . or /")
	}
	if Match("notes__add_note", "notes__add_notes") || !Match("notes__add_note", "notes__add_note") {
		t.Error("a plain name is not an exact match")
	}
}

func TestABrokenPatternIsAnErrorAndMatchesNothing(t *testing.T) {
	if _, err := Compile("notes__[a"); err == nil {
		t.Error("an unterminated class compiled")
	}
	if Match("notes__[a", "notes__[a") {
		t.Error("a broken pattern matched")
	}
}

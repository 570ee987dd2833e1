package extproc

import (
	"strings"
	"testing"
)

func TestLookAlikeAndInvisibleToolNamesAreRefusedBeforeRouting(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, name := range []string{
		"notes\uff3f\uff3fadd_note", // fullwidth low lines look like "__"
		"notes__add_n\u043ete",      // a Cyrillic о
		"notes__add_note\u200b",     // a zero-width space
		"notes__add_note ",          // trailing white space
		"notes__add_note\\u0000",    // a NUL, escaped in the JSON
		"notes__" + strings.Repeat("a", 130),
	} {
		if got, code, msg := callAs(t, srv, name); got != "" || code != -32602 || !strings.Contains(msg, "not a valid MCP tool name") {
			t.Errorf("%q: forwarded as %q, error %d %q; want -32602 not a valid MCP tool name", name, got, code, msg)
		}
	}
	for _, name := range []string{"notes__add_note", "notes__v2.add-note/x"} {
		if _, code, msg := callAs(t, srv, name); strings.Contains(msg, "not a valid MCP tool name") {
			t.Errorf("%q was refused as malformed (%d %s)", name, code, msg)
		}
	}
}

package toolnames

import (
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
)

func testMap() *Map {
	return New(&config.VirtualServer{
		Prefix: config.Prefix{Separator: "__"},
		Connectors: []config.ConnectorRef{
			{Name: "notes", Tools: map[string]config.ToolCustomization{
				"add_note":   {Name: "create_note", Description: "Make a note."},
				"delete_all": {Hidden: true},
			}},
			{Name: "weather"},
		},
	})
}

func TestExposeAppliesPrefixRenameAndHiding(t *testing.T) {
	m := testMap()
	for _, tc := range []struct {
		connector, original, want string
		visible                   bool
	}{
		{"notes", "add_note", "notes__create_note", true},
		{"notes", "list_notes", "notes__list_notes", true},
		{"notes", "delete_all", "", false},
		{"weather", "get_forecast", "weather__get_forecast", true},
		{"mail", "send", "", false},
	} {
		got, _, visible := m.Expose(tc.connector, tc.original)
		if got != tc.want || visible != tc.visible {
			t.Errorf("Expose(%s, %s) = %q, %v; want %q, %v", tc.connector, tc.original, got, visible, tc.want, tc.visible)
		}
	}
}

func TestResolveIsTheExactInverseAndRefusesBypasses(t *testing.T) {
	m := testMap()
	for _, tc := range []struct {
		exposed, connector, original string
		ok                           bool
	}{
		{"notes__create_note", "notes", "add_note", true},
		{"notes__list_notes", "notes", "list_notes", true},
		{"weather__get_forecast", "weather", "get_forecast", true},
		{"notes__add_note", "", "", false},   // the original name of a renamed tool
		{"notes__delete_all", "", "", false}, // a hidden tool
		{"mail__send", "", "", false},        // not on this virtual server
		{"notes__", "", "", false},
		{"notes", "", "", false},
		{"Notes__list_notes", "", "", false}, // prefixes are case-sensitive
		{"notes___list_notes", "notes", "_list_notes", true},
	} {
		c, o, ok := m.Resolve(tc.exposed)
		if c != tc.connector || o != tc.original || ok != tc.ok {
			t.Errorf("Resolve(%q) = %q, %q, %v; want %q, %q, %v", tc.exposed, c, o, ok, tc.connector, tc.original, tc.ok)
		}
	}
}

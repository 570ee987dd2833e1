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
		got, _, visible := m.Expose(tc.connector, tc.original, nil)
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
		c, o, ok := m.Resolve(tc.exposed, nil)
		if c != tc.connector || o != tc.original || ok != tc.ok {
			t.Errorf("Resolve(%q) = %q, %q, %v; want %q, %q, %v", tc.exposed, c, o, ok, tc.connector, tc.original, tc.ok)
		}
	}
}

func modeMap(mode config.PrefixMode) *Map {
	return New(&config.VirtualServer{
		Prefix: config.Prefix{Mode: mode, Separator: "__"},
		Connectors: []config.ConnectorRef{
			{Name: "notes", Tools: map[string]config.ToolCustomization{
				"add_note":   {Name: "create"},
				"delete_all": {Hidden: true},
			}},
			{Name: "weather", Tools: map[string]config.ToolCustomization{"forecast": {Name: "lookup"}}},
			{Name: "search"},
		},
	})
}

// lists are what the three connectors have: "search" (both notes and weather have it),
// "lookup" (weather's renamed "forecast" clashes with notes' own "lookup") and unique tools.
var lists = map[string][]string{
	"notes":   {"add_note", "delete_all", "search", "lookup", "list"},
	"weather": {"forecast", "search", "today"},
	"search":  {"query"},
}

func TestPrefixModesNameToolsAndResolveThemBack(t *testing.T) {
	for _, tc := range []struct {
		mode config.PrefixMode
		want map[string]Tool // exposed → tool; everything else must not resolve
	}{
		{config.PrefixNever, map[string]Tool{
			"create": {"notes", "add_note"}, "search": {"notes", "search"}, "lookup": {"notes", "lookup"},
			"list": {"notes", "list"}, "today": {"weather", "today"}, "query": {"search", "query"},
		}},
		{config.PrefixOnConflict, map[string]Tool{
			"create": {"notes", "add_note"}, "notes__search": {"notes", "search"}, "weather__search": {"weather", "search"},
			"notes__lookup": {"notes", "lookup"}, "weather__lookup": {"weather", "forecast"},
			"list": {"notes", "list"}, "today": {"weather", "today"}, "query": {"search", "query"},
		}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			m := modeMap(tc.mode)
			if m.Static() {
				t.Fatal("a mode other than always is not static")
			}
			idx := m.Index(lists)
			if idx.Len() != len(tc.want) {
				t.Errorf("index names %d tools, want %d", idx.Len(), len(tc.want))
			}
			for exposed, tool := range tc.want {
				c, o, ok := m.Resolve(exposed, idx)
				if !ok || (Tool{c, o}) != tool {
					t.Errorf("Resolve(%q) = %s/%s %v, want %v", exposed, c, o, ok, tool)
				}
				if got, _, ok := m.Expose(tool.Connector, tool.Original, idx); !ok || got != exposed {
					t.Errorf("Expose(%v) = %q %v, want %q", tool, got, ok, exposed)
				}
			}
			// Hidden tools, original names of renamed tools, and prefixed names of tools that
			// kept their bare name never resolve.
			for _, bad := range []string{"delete_all", "add_note", "forecast", "notes__list", "notes__create", "search__query", ""} {
				if c, o, ok := m.Resolve(bad, idx); ok {
					t.Errorf("Resolve(%q) = %s/%s, want nothing", bad, c, o)
				}
			}
			if _, _, ok := m.Resolve("create", nil); ok {
				t.Error("without an index nothing resolves")
			}
		})
	}
}

func TestPrefixModeNeverReportsTheToolsItLeavesOut(t *testing.T) {
	idx := modeMap(config.PrefixNever).Index(lists)
	got := map[Tool]bool{}
	for _, c := range idx.Conflicts {
		got[c] = true
	}
	if len(got) != 2 || !got[Tool{"weather", "search"}] || !got[Tool{"weather", "forecast"}] {
		t.Errorf("conflicts = %v, want weather's search and forecast", idx.Conflicts)
	}
}

func TestPromptsFollowThePrefixModeWithoutToolCustomization(t *testing.T) {
	vs := &config.VirtualServer{Prefix: config.Prefix{Mode: config.PrefixAlways, Separator: "__"},
		Connectors: []config.ConnectorRef{{Name: "notes", Tools: map[string]config.ToolCustomization{"p": {Hidden: true}}}}}
	if got, _, ok := ForPrompts(vs).Expose("notes", "p", nil); !ok || got != "notes__p" {
		t.Errorf("prompt p = %q %v; tool customization must not apply to prompts", got, ok)
	}
}

// A name that differs only in case from a hidden tool, a renamed tool's original name or a
// restricted name is a case variant: a connector matching names case-insensitively would run the
// tool no rule names. The tools themselves, and names unrelated to any rule, are not.
func TestCaseVariantsOfHiddenRenamedAndRestrictedToolsAreSpotted(t *testing.T) {
	m := New(&config.VirtualServer{
		Prefix: config.Prefix{Separator: "__"},
		Connectors: []config.ConnectorRef{
			{Name: "notes", Tools: map[string]config.ToolCustomization{
				"add_note":   {Name: "create_note"},
				"delete_all": {Hidden: true},
			}},
			{Name: "weather"},
		},
		Access: config.Access{Tools: map[string][]string{"weather__Admin*": {"admins"}, "notes__purge": {"admins"}}},
	})
	for _, tc := range []struct {
		exposed, connector, original string
		variant                      bool
	}{
		{"notes__DELETE_ALL", "notes", "DELETE_ALL", true},
		{"notes__Delete_All", "notes", "Delete_All", true},
		{"notes__ADD_NOTE", "notes", "ADD_NOTE", true},
		{"notes__PURGE", "notes", "PURGE", true},
		{"weather__admin.reset", "weather", "admin.reset", true},
		{"weather__ADMIN/reset", "weather", "ADMIN/reset", true},
		{"weather__Admin.reset", "weather", "Admin.reset", false}, // restricted itself: the policy decides
		{"notes__purge", "notes", "purge", false},
		{"notes__create_note", "notes", "add_note", false},
		{"notes__LIST_NOTES", "notes", "LIST_NOTES", false},
		{"weather__get_forecast", "weather", "get_forecast", false},
	} {
		if got := m.CaseVariant(tc.exposed, tc.connector, tc.original); got != tc.variant {
			t.Errorf("CaseVariant(%q) = %v, want %v", tc.exposed, got, tc.variant)
		}
	}
}

package aggregator

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
)

func TestToolJSONWritesWhatMarshallingTheRenamedToolWould(t *testing.T) {
	tool := map[string]json.RawMessage{
		"name":        json.RawMessage(`"search"`),
		"description": json.RawMessage(`"Find <things> & \"more\""`),
		"inputSchema": json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`),
		"annotations": json.RawMessage(`{"readOnlyHint":true}`),
	}
	for _, tc := range []struct{ name, exposed, description string }{
		{"renamed", "docs__find", ""},
		{"redescribed", "docs__search", "Search the docs — in \"quotes\", <b>&</b>, ünïcode."},
		{"control characters in names", "docs__a\tb", "line\nbreak"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := maps.Clone(tool)
			want["name"], _ = json.Marshal(tc.exposed)
			if tc.description != "" {
				want["description"], _ = json.Marshal(tc.description)
			}
			wantJSON, _ := json.Marshal(want)
			got := toolJSON(tool, tc.exposed, tc.description)
			// The same JSON, save that the connector's own strings keep their escaping (json.Marshal
			// would write < as \u003c).
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatalf("tool = %s: %v", got, err)
			}
			json.Unmarshal(wantJSON, &wantV)
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("tool = %s\nwant   %s", got, wantJSON)
			}
		})
	}
	if string(tool["name"]) != `"search"` {
		t.Error("encoding changed the cached tool")
	}
}

func TestToolJSONAddsANameOrDescriptionTheToolLacked(t *testing.T) {
	items := []json.RawMessage{
		toolJSON(map[string]json.RawMessage{"inputSchema": json.RawMessage(` { "type" : "object" } `)}, "c__t", "Does t."),
		toolJSON(map[string]json.RawMessage{"name": json.RawMessage(`"x"`)}, "c__x", ""),
	}
	var ms []map[string]any
	if err := json.Unmarshal(encodedArray(items), &ms); err != nil || len(ms) != 2 {
		t.Fatalf("array = %s: %v", encodedArray(items), err)
	}
	want := map[string]any{"name": "c__t", "description": "Does t.", "inputSchema": map[string]any{"type": "object"}}
	if !reflect.DeepEqual(ms[0], want) {
		t.Errorf("tool = %v, want %v", ms[0], want)
	}
	if ms[1]["name"] != "c__x" {
		t.Errorf("second tool = %v", ms[1])
	}
	if arr := encodedArray(nil); string(arr) != "[]" {
		t.Errorf("an empty list = %s, want []", arr)
	}
	for raw, want := range map[string]string{`"plain"`: "plain", `"esc\"aped"`: `esc"aped`, `"\u00e9"`: "é"} {
		if got, ok := rawString(json.RawMessage(raw)); !ok || got != want {
			t.Errorf("rawString(%s) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	if _, ok := rawString(json.RawMessage(`7`)); ok {
		t.Error("rawString accepted a number")
	}
}

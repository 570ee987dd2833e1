package aggregator

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestPagesCoverTheMergedListExactlyOnceWithVMCPsOwnCursors(t *testing.T) {
	defer func(n int) { pageSize = n }(pageSize)
	pageSize = 3
	var items []json.RawMessage
	for i := range 8 {
		items = append(items, json.RawMessage(fmt.Sprintf(`{"name":"t%d"}`, i)))
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		p, err := page(items, "tools", cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p["tools"].([]json.RawMessage) {
			seen = append(seen, string(it))
		}
		next, ok := p["nextCursor"].(string)
		if !ok {
			break
		}
		if next[:len(cursorPrefix)] != cursorPrefix {
			t.Fatalf("cursor %q is not vmcp's", next)
		}
		cursor = next
	}
	if len(seen) != len(items) || seen[0] != `{"name":"t0"}` || seen[7] != `{"name":"t7"}` {
		t.Errorf("pages gave %v", seen)
	}
	for _, bad := range []string{"x", cursorPrefix + "!!", cursorPrefix + "LTE"} {
		if _, err := page(items, "tools", bad); err == nil || err.Code != -32602 {
			t.Errorf("cursor %q: %v, want invalid params", bad, err)
		}
	}
}

func TestMergedCapabilitiesOfferWhatAnyConnectorOffers(t *testing.T) {
	caps := mergeCapabilities([]map[string]json.RawMessage{
		{"tools": json.RawMessage(`{}`)},
		{"prompts": json.RawMessage(`{}`), "logging": json.RawMessage(`{}`)},
	})
	if _, ok := caps["prompts"]; !ok {
		t.Error("prompts missing")
	}
	if _, ok := caps["logging"]; !ok {
		t.Error("logging missing")
	}
	if _, ok := caps["resources"]; ok {
		t.Error("resources offered though no connector has them")
	}
	if tools := caps["tools"].(map[string]any); tools["listChanged"] != true {
		t.Error("vmcp sends tools list_changed itself and must say so")
	}
}

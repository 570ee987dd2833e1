package extproc

import (
	"encoding/json"
	"strings"
	"testing"
)

const customizedVS = `virtual_servers:
  - name: demo
    connectors:
      - name: notes
        tools:
          add_note: {name: create_note, description: "Write a note."}
          delete_all: {hidden: true}
      - weather
    access:
      tools:
        "notes__list_*": [writers]
`

func rpcCode(t *testing.T, body []byte) (int, string) {
	t.Helper()
	var m struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON-RPC: %s", body)
	}
	return m.Error.Code, m.Error.Message
}

// callAs sends tools/call name as a member of groups and returns the name forwarded to the
// connector, or the JSON-RPC error code and message of an immediate answer.
func callAs(t *testing.T, srv *Server, name string, groups ...any) (forwarded string, code int, msg string) {
	t.Helper()
	resp := exchangeAs(t, srv, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","arguments":{"q":"x"}}}`, groups)
	if ir := resp.GetImmediateResponse(); ir != nil {
		code, msg = rpcCode(t, ir.Body)
		return "", code, msg
	}
	var m struct {
		Params struct{ Name string } `json:"params"`
	}
	if err := json.Unmarshal(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody(), &m); err != nil {
		t.Fatalf("no rewritten body: %v", resp)
	}
	return m.Params.Name, 0, ""
}

func TestRenamedAndHiddenToolsResolveOnlyByTheirVirtualNames(t *testing.T) {
	srv, _ := newTestServerWith(t, customizedVS)
	if got, code, msg := callAs(t, srv, "notes__create_note"); got != "add_note" {
		t.Errorf("notes__create_note forwarded as %q (code %d %s), want add_note", got, code, msg)
	}
	for _, bypass := range []string{"notes__add_note", "notes__delete_all"} {
		if _, code, _ := callAs(t, srv, bypass); code != -32602 {
			t.Errorf("%s: code %d, want -32602 (unknown tool)", bypass, code)
		}
	}
}

func TestToolPolicyDeniesACallAndSaysWhichPolicyAndWhy(t *testing.T) {
	srv, _ := newTestServerWith(t, customizedVS)
	_, code, msg := callAs(t, srv, "notes__list_notes", "readers")
	if code != -32003 || !strings.Contains(msg, "data.vmcp.tools.decision") || !strings.Contains(msg, "writers") {
		t.Errorf("denial = %d %q, want -32003 naming the policy and the allowed groups", code, msg)
	}
	if got, code, msg := callAs(t, srv, "notes__list_notes", "writers"); got != "list_notes" {
		t.Errorf("a member was not routed: %d %s", code, msg)
	}
	if got, _, _ := callAs(t, srv, "weather__get_forecast"); got != "get_forecast" {
		t.Errorf("an unrestricted tool was not routed")
	}
}

// A call differing only in case from a hidden tool, a renamed tool's original name or a restricted
// name is an unknown tool: a connector matching names case-insensitively would run it under a
// spelling no rule names. Names that only look alike to nothing curated are routed as they are.
func TestCaseVariantsOfHiddenRenamedAndRestrictedToolsAreUnknownTools(t *testing.T) {
	srv, _ := newTestServerWith(t, customizedVS)
	for _, variant := range []string{"notes__DELETE_ALL", "notes__Delete_All", "notes__ADD_NOTE", "notes__LIST_NOTES", "notes__List_Notes"} {
		if got, code, msg := callAs(t, srv, variant, "writers"); code != -32602 || !strings.Contains(msg, "unknown tool") {
			t.Errorf("%s: forwarded as %q, code %d %q; want -32602 unknown tool", variant, got, code, msg)
		}
	}
	if got, code, msg := callAs(t, srv, "notes__Get_Note"); got != "Get_Note" {
		t.Errorf("a name no rule covers was not routed as it is: %q %d %s", got, code, msg)
	}
}

package extproc

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
)

// discoveryVS is customizedVS with tool search on.
var discoveryVS = customizedVS + "    tools: {discovery: search}\n"

// events collects the audit events extproc records.
type events struct {
	mu  sync.Mutex
	all []audit.Event
}

func (s *events) Record(e audit.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, e)
}

func (s *events) last(t *testing.T) audit.Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		t.Fatal("no audit event")
	}
	return s.all[len(s.all)-1]
}

// callToolAs is callAs through call_tool: it sends call_tool with inner as its arguments and
// returns the name and arguments forwarded to the connector, or the JSON-RPC error code and
// message of an immediate answer.
func callToolAs(t *testing.T, srv *Server, inner string, groups ...any) (forwarded string, args map[string]any, code int, msg string) {
	t.Helper()
	resp := exchangeAs(t, srv, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"call_tool","arguments":`+inner+`}}`, groups)
	if ir := resp.GetImmediateResponse(); ir != nil {
		code, msg = rpcCode(t, ir.Body)
		return "", nil, code, msg
	}
	var m struct {
		Params struct {
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody(), &m); err != nil {
		t.Fatalf("no rewritten body: %v", resp)
	}
	return m.Params.Name, m.Params.Arguments, 0, ""
}

func TestCallToolIsRoutedAsTheNamedToolWithItsArguments(t *testing.T) {
	srv, _ := newTestServerWith(t, discoveryVS)
	got, args, code, msg := callToolAs(t, srv, `{"name":"notes__create_note","arguments":{"title":"t","body":"b"}}`)
	if got != "add_note" || args["title"] != "t" || len(args) != 2 {
		t.Fatalf("call_tool forwarded %q %v (code %d %s), want add_note with the inner arguments", got, args, code, msg)
	}
	// The connector's routing header, credential and the rewritten params are the direct call's.
	resp := exchangeAs(t, srv, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"call_tool","arguments":{"name":"notes__create_note"}}}`, nil)
	h := setHeaders(resp)
	if h["x-vmcp-connector"] != "notes" || h["authorization"] != "Bearer "+testToken {
		t.Errorf("call_tool did not get the connector's routing and credential: %v", h)
	}
	var m struct {
		Params map[string]json.RawMessage `json:"params"`
	}
	json.Unmarshal(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody(), &m)
	if _, ok := m.Params["arguments"]; ok || string(m.Params["name"]) != `"add_note"` {
		t.Errorf("call_tool without arguments forwarded params %s", resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody())
	}
}

// call_tool must not be a way around anything a direct call meets: each case is answered with
// the same JSON-RPC error, code, message and data, as the direct call of the same tool.
func TestCallToolIsRefusedExactlyAsADirectCall(t *testing.T) {
	srv, _ := newTestServerWith(t, discoveryVS)
	sink := &events{}
	srv.audit = sink
	for _, tc := range []struct {
		name, tool string
		groups     []any
		wantCode   int
	}{
		{"a tool the policy denies this caller", "notes__list_notes", []any{"readers"}, -32003},
		{"a hidden tool", "notes__delete_all", nil, -32602},
		{"a renamed tool's original name", "notes__add_note", nil, -32602},
		{"a connector not on the virtual server", "mail__send", nil, -32602},
	} {
		t.Run(tc.name, func(t *testing.T) {
			direct := exchangeAs(t, srv, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tc.tool+`","arguments":{"q":"x"}}}`, tc.groups).GetImmediateResponse()
			directEvent := sink.last(t)
			viaMeta := exchangeAs(t, srv, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"call_tool","arguments":{"name":"`+tc.tool+`","arguments":{"q":"x"}}}}`, tc.groups).GetImmediateResponse()
			metaEvent := sink.last(t)
			if direct == nil || viaMeta == nil {
				t.Fatalf("want two refusals, got %v and %v", direct, viaMeta)
			}
			if code, _ := rpcCode(t, direct.Body); code != tc.wantCode {
				t.Errorf("the direct call got code %d, want %d", code, tc.wantCode)
			}
			if string(direct.Body) != string(viaMeta.Body) || direct.Status.Code != viaMeta.Status.Code {
				t.Errorf("direct: %d %s\ncall_tool: %d %s", direct.Status.Code, direct.Body, viaMeta.Status.Code, viaMeta.Body)
			}
			// Only the timing and the request's size (call_tool wraps the call) may differ.
			directEvent.LatencyMicros, metaEvent.LatencyMicros = 0, 0
			directEvent.BytesIn, metaEvent.BytesIn = 0, 0
			if de, me := mustJSON(directEvent), mustJSON(metaEvent); string(de) != string(me) {
				t.Errorf("audit events differ:\ndirect:    %s\ncall_tool: %s", de, me)
			}
		})
	}
	if got, _, _, _ := callToolAs(t, srv, `{"name":"notes__list_notes"}`, "writers"); got != "list_notes" {
		t.Error("a member of the allowed group was not routed through call_tool")
	}
}

func TestMetaToolsOnlyWhereDiscoveryIsOn(t *testing.T) {
	on, _ := newTestServerWith(t, discoveryVS)
	resp := exchange(t, on, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_tools","arguments":{"query":"notes"}}}`)
	if c := resp.GetRequestBody().GetResponse(); c == nil || c.BodyMutation != nil || c.HeaderMutation != nil || c.ClearRouteCache {
		t.Errorf("search_tools was not passed on untouched to the aggregator: %v", resp)
	}
	for _, bad := range []string{`"notes__create_note"`, `{}`, `{"name":""}`, `{"name":"search_tools"}`, `{"name":"call_tool","arguments":{}}`, `{"Name":"notes__create_note"}`, `null`} {
		if _, _, code, msg := callToolAs(t, on, bad); code != -32602 || !strings.Contains(msg, "call_tool") {
			t.Errorf("call_tool with arguments %s: code %d %q, want -32602 explaining call_tool", bad, code, msg)
		}
	}

	off, _ := newTestServerWith(t, customizedVS)
	for _, meta := range []string{"search_tools", "call_tool"} {
		if _, code, _ := callAs(t, off, meta); code != -32602 {
			t.Errorf("%s with discovery off: code %d, want -32602 (unknown tool)", meta, code)
		}
	}
}

// fixedCatalog names tools from fixed lists, as the aggregator does from connectors' lists in
// prefix modes other than always.
type fixedCatalog struct {
	names *toolnames.Map
	lists map[string][]string
}

func (c fixedCatalog) Index(context.Context, string, string, string, string) (*toolnames.Index, error) {
	return c.names.Index(c.lists), nil
}

func (fixedCatalog) ResourceConnector(context.Context, string, string, string, string) (string, string, error) {
	return "", "", nil
}

func (c fixedCatalog) HasTool(_ context.Context, _, _, _, connector, original string) (bool, error) {
	return slices.Contains(c.lists[connector], original), nil
}

// A 2026-07-28 call_tool carries Mcp-Name: call_tool. Once unwrapped, the connector must get the
// tool's own name in Mcp-Name, or it refuses the header/body mismatch — also in prefix mode
// never, where the client's name for the tool is the connector's own.
func TestCallToolOfTheModernRevisionGetsTheToolsOwnNameInMcpName(t *testing.T) {
	srv, _ := newTestServerWith(t, `virtual_servers:
  - name: demo
    connectors: [notes, weather]
    prefix: {mode: never}
    tools: {discovery: search}
`)
	state := srv.state.Load()
	e := srv.edgeExchange(context.Background(), state)
	e.catalog = fixedCatalog{names: state.byPath["/v/demo/mcp"].names, lists: map[string][]string{"notes": {"add_note"}, "weather": {"get_forecast"}}}
	e.handle(&extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":path", RawValue: []byte("/v/demo/mcp")}, {Key: ":method", RawValue: []byte("POST")},
			{Key: "mcp-protocol-version", RawValue: []byte("2026-07-28")},
			{Key: "mcp-method", RawValue: []byte("tools/call")}, {Key: "mcp-name", RawValue: []byte("call_tool")},
			signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo"}),
		}}}},
	})
	resp := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{EndOfStream: true,
		Body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"call_tool","arguments":{"name":"add_note","arguments":{"title":"t"}}}}`)}}})
	if ir := resp.GetImmediateResponse(); ir != nil {
		t.Fatalf("refused: %s", ir.Body)
	}
	var m struct {
		Params struct{ Name string } `json:"params"`
	}
	json.Unmarshal(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody(), &m)
	if h := setHeaders(resp); m.Params.Name != "add_note" || h["mcp-name"] != "add_note" || h["x-vmcp-connector"] != "notes" {
		t.Errorf("routed %q with headers %v; want add_note to notes with Mcp-Name add_note", m.Params.Name, h)
	}
}

// With prefixes always on, a made-up name after a real connector's prefix is an unknown tool, as
// in every other prefix mode: it reaches no connector, directly or through call_tool.
func TestAnUnknownToolBehindAKnownPrefixIsAnUnknownTool(t *testing.T) {
	srv, _ := newTestServer(t)
	state := srv.state.Load()
	for _, tc := range []struct{ name, want string }{
		{"notes__add_note", "add_note"},
		{"notes__no_such_tool", ""},
		{"weather__get_forecast", "get_forecast"},
		{"weather__add_note", ""},
	} {
		e := srv.edgeExchange(context.Background(), state)
		e.catalog = fixedCatalog{names: state.byPath["/v/demo/mcp"].names, lists: map[string][]string{"notes": {"add_note"}, "weather": {"get_forecast"}}}
		e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":path", RawValue: []byte("/v/demo/mcp")}, {Key: ":method", RawValue: []byte("POST")}, signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo"})}}}}})
		resp := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
			Body: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tc.name + `","arguments":{}}}`), EndOfStream: true}}})
		var got, msg string
		var code int
		if ir := resp.GetImmediateResponse(); ir != nil {
			code, msg = rpcCode(t, ir.Body)
		} else {
			var m struct {
				Params struct{ Name string } `json:"params"`
			}
			json.Unmarshal(resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody(), &m)
			got = m.Params.Name
		}
		if got != tc.want {
			t.Errorf("%s: routed as %q (%d %s), want %q", tc.name, got, code, msg, tc.want)
		}
		if tc.want == "" && (code != -32602 || !strings.Contains(msg, `unknown tool "`+tc.name+`"`)) {
			t.Errorf("%s: %d %q, want -32602 naming the tool as called", tc.name, code, msg)
		}
	}
}

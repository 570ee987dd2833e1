package extproc

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
)

const testToken = "tok-for-notes-7f3a"

func newTestServer(t testing.TB) (*Server, *session.Codec) {
	t.Helper()
	return newTestServerWith(t, demoVS)
}

const demoVS = `virtual_servers:
  - name: demo
    connectors: [notes, weather]
`

// newTestServerWith uses virtualServers as the configuration's virtual_servers section.
func newTestServerWith(t testing.TB, virtualServers string) (*Server, *session.Codec) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes-token"), []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "vmcp.yaml"), []byte(`
connectors:
  - name: notes
    url: http://127.0.0.1:19001/mcp
    credential: {type: bearer, token: "${file:notes-token}"}
  - name: weather
    url: http://127.0.0.1:19002/mcp
`+virtualServers))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := session.NewCodec([]byte(strings.Repeat("s", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(codec, testSigner, nil, nil, zaptest.NewLogger(t))
	commit, err := srv.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	return srv, codec
}

// exchange plays Envoy: request headers for /v/demo/mcp from alice, then body.
func exchange(t *testing.T, srv *Server, sessionID, body string) *extprocv3.ProcessingResponse {
	t.Helper()
	return exchangeAs(t, srv, sessionID, body, nil)
}

// exchangeAs is exchange by alice in groups.
func exchangeAs(t *testing.T, srv *Server, sessionID, body string, groups []any) *extprocv3.ProcessingResponse {
	t.Helper()
	e := startExchange(srv, sessionID, groups)
	return e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}})
}

// startExchange plays Envoy up to the request headers of a request to /v/demo/mcp from alice in
// groups; the test sends the rest.
func startExchange(srv *Server, sessionID string, groups []any) *edgeExchange {
	e := srv.edgeExchange(context.Background(), srv.state.Load())
	gs := make([]string, len(groups))
	for i, g := range groups {
		gs[i] = g.(string)
	}
	hdrs := []*corev3.HeaderValue{{Key: ":path", RawValue: []byte("/v/demo/mcp")}, {Key: ":method", RawValue: []byte("POST")},
		signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo", Groups: gs})}
	if sessionID != "" {
		hdrs = append(hdrs, &corev3.HeaderValue{Key: "mcp-session-id", RawValue: []byte(sessionID)})
	}
	e.handle(&extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hdrs}}},
	})
	return e
}

func setHeaders(resp *extprocv3.ProcessingResponse) map[string]string {
	out := map[string]string{}
	for _, h := range resp.GetRequestBody().GetResponse().GetHeaderMutation().GetSetHeaders() {
		out[h.Header.Key] = string(h.Header.RawValue)
	}
	return out
}

func TestToolCallIsRewrittenForItsConnector(t *testing.T) {
	srv, codec := newTestServer(t)
	sid, err := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", Upstream: map[string]string{"notes": "up-notes-1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp := exchange(t, srv, sid, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"title":"a","body":"b"}}}`)
	common := resp.GetRequestBody().GetResponse()
	if common == nil || !common.ClearRouteCache {
		t.Fatalf("want a body rewrite that clears the route cache, got %v", resp)
	}
	body := common.GetBodyMutation().GetBody()
	var msg struct {
		ID     int `json:"id"`
		Params struct {
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.ID != 7 || msg.Params.Name != "add_note" || msg.Params.Arguments["title"] != "a" {
		t.Errorf("rewritten body = %s", body)
	}
	h := setHeaders(resp)
	want := map[string]string{
		"x-vmcp-connector": "notes",
		"authorization":    "Bearer " + testToken,
		"mcp-session-id":   "up-notes-1",
		"content-length":   itoa(len(body)),
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestConnectorWithoutCredentialGetsNoAuthorization(t *testing.T) {
	srv, _ := newTestServer(t)
	resp := exchange(t, srv, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather__get_forecast","arguments":{}}}`)
	if _, ok := setHeaders(resp)["authorization"]; ok {
		t.Fatal("weather has no credential but an authorization header is set")
	}
	removed := strings.Join(resp.GetRequestBody().GetResponse().GetHeaderMutation().GetRemoveHeaders(), ",")
	if !strings.Contains(removed, "authorization") || !strings.Contains(removed, "mcp-session-id") {
		t.Errorf("removed headers = %s, want authorization and mcp-session-id", removed)
	}
}

func TestBadRequestsGetJSONRPCErrors(t *testing.T) {
	srv, codec := newTestServer(t)
	bobs, _ := codec.Seal(session.State{Subject: "bob", VirtualServer: "demo"})
	tests := []struct {
		name       string
		session    string
		body       string
		wantStatus int
		wantCode   int
	}{
		{"malformed JSON", "", `{"jsonrpc":`, 400, -32700},
		{"a batch", "", `[{"jsonrpc":"2.0","id":1,"method":"tools/call"}]`, 400, -32600},
		{"duplicate name keys", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather__x","name":"notes__add_note"}}`, 400, -32600},
		{"duplicate method keys", "", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"notes__add_note"}}`, 400, -32600},
		{"an unknown connector prefix", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mail__send"}}`, 200, -32602},
		{"a name without a prefix", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note"}}`, 200, -32602},
		{"a name that is only a prefix", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__"}}`, 200, -32602},
		{"a missing name", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, 200, -32602},
		{"another user's session", bobs, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note"}}`, 404, -32600},
		{"a garbage session", "garbage", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note"}}`, 404, -32600},
		// Envoy lets the chunk that crosses its buffer limit through whole.
		{"a body over server.max_request_bytes", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"body":"` + strings.Repeat("x", 4<<20) + `"}}}`, 413, -32600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := exchange(t, srv, tc.session, tc.body)
			ir := resp.GetImmediateResponse()
			if ir == nil {
				t.Fatalf("want an immediate JSON-RPC error, got %v", resp)
			}
			if int(ir.Status.Code) != tc.wantStatus {
				t.Errorf("status = %d, want %d", ir.Status.Code, tc.wantStatus)
			}
			var m struct {
				Error struct{ Code int } `json:"error"`
			}
			if err := json.Unmarshal(ir.Body, &m); err != nil || m.Error.Code != tc.wantCode {
				t.Errorf("body = %s, want code %d", ir.Body, tc.wantCode)
			}
		})
	}
}

func TestAggregatorMethodsPassUntouched(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	} {
		resp := exchange(t, srv, "", body)
		c := resp.GetRequestBody().GetResponse()
		if c == nil || c.BodyMutation != nil || c.HeaderMutation != nil || c.ClearRouteCache {
			t.Errorf("%s: want an untouched continue, got %v", body, resp)
		}
	}
}

// egressHeaders plays Envoy's egress listener: the request headers of an aggregator request to
// connector, with identity (none when empty) and a client token that must not ride along.
func egressHeaders(connector, identity string) *extprocv3.ProcessingRequest {
	hs := []*corev3.HeaderValue{{Key: ":method", RawValue: []byte("POST")}, {Key: ":path", RawValue: []byte("/mcp")},
		{Key: "x-vmcp-connector", RawValue: []byte(connector)}, {Key: "x-vmcp-rpc-method", RawValue: []byte("tools/list")},
		{Key: "authorization", RawValue: []byte("Bearer client-token")}}
	if identity != "" {
		hs = append(hs, &corev3.HeaderValue{Key: "x-vmcp-identity", RawValue: []byte(identity)})
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hs}}}}
}

func TestEgressAttachesTheConnectorsCredentialForAnIdentityVMCPSigned(t *testing.T) {
	srv, _ := newTestServerWith(t, demoVS+"  - name: ops\n    connectors: [weather]\n")
	rec := &events{}
	egress := func() *egressExchange {
		return &egressExchange{state: srv.state.Load(), signer: testSigner, audit: rec, ctx: context.Background(), log: srv.log}
	}
	alice := string(signedAs(identity.Identity{Subject: "alice", VirtualServer: "demo"}).RawValue)
	e := egress()
	resp := e.handle(egressHeaders("notes", alice))
	mut := resp.GetRequestHeaders().GetResponse().GetHeaderMutation()
	if len(mut.GetSetHeaders()) != 1 || string(mut.SetHeaders[0].Header.RawValue) != "Bearer "+testToken {
		t.Fatalf("egress mutation = %v", mut)
	}
	if !slices.Contains(mut.GetRemoveHeaders(), "x-vmcp-rpc-method") {
		t.Errorf("egress removes %v", mut.GetRemoveHeaders())
	}
	if len(rec.all) != 0 {
		t.Fatalf("recorded before the answer: %+v", rec.all)
	}
	e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
		Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte("200")}}}}}})
	e.done()
	if ev := rec.last(t); len(rec.all) != 1 || ev.Kind != audit.KindEgress || ev.Subject != "alice" || ev.VirtualServer != "demo" || ev.Connector != "notes" ||
		ev.Method != "tools/list" || ev.Decision != "allow" || ev.Outcome != audit.OutcomeOK {
		t.Errorf("audited %+v", rec.all)
	}

	other, _ := identity.NewSigner([]byte(strings.Repeat("x", 32)))
	forged, _ := other.Sign(identity.Identity{Subject: "alice", VirtualServer: "demo", Expiry: time.Now().Add(time.Hour).Unix()})
	expired, _ := testSigner.Sign(identity.Identity{Subject: "alice", VirtualServer: "demo", Expiry: time.Now().Add(-time.Minute).Unix()})
	for _, tc := range []struct{ name, connector, identity, reason string }{
		{"no identity", "notes", "", egressNoIdentity},
		{"a forged identity", "notes", forged, egressBadIdentity},
		{"an expired identity", "notes", expired, egressBadIdentity},
		{"garbage", "notes", "eyJzdWIiOiJhZG1pbiJ9.forged", egressBadIdentity},
		{"a virtual server without the connector", "notes", string(signedAs(identity.Identity{Subject: "alice", VirtualServer: "ops"}).RawValue), egressNotOnVS},
		{"an unknown virtual server", "notes", string(signedAs(identity.Identity{Subject: "alice", VirtualServer: "gone"}).RawValue), egressUnknownVS},
		{"an unknown connector", "nope", alice, egressUnknownConnector},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.all = nil
			e := egress()
			resp := e.handle(egressHeaders(tc.connector, tc.identity))
			e.done()
			ir := resp.GetImmediateResponse()
			if ir.GetStatus().GetCode() != 403 || !strings.Contains(string(ir.GetBody()), "refused") || resp.GetRequestHeaders() != nil {
				t.Fatalf("want 403, got %v", resp)
			}
			if strings.Contains(string(ir.GetBody()), testToken) {
				t.Fatal("the refusal carries the credential")
			}
			if ev := rec.last(t); len(rec.all) != 1 || ev.Kind != audit.KindEgress || ev.Decision != "deny" || ev.Outcome != audit.OutcomeDenied ||
				ev.Reason != tc.reason || ev.Connector != tc.connector {
				t.Errorf("audited %+v, want one denial because %q", rec.all, tc.reason)
			}
		})
	}
}

package extproc

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/usercred"
)

// userTokens answers as connections.Manager does: alice is connected, everyone else gets the
// connect link.
type userTokens struct{}

func (userTokens) Token(_ context.Context, subject, connector string) (string, time.Time, error) {
	if subject == "alice" {
		return "alice-github-token", time.Now().Add(time.Hour), nil
	}
	return "", time.Time{}, &credential.NotConnectedError{Connector: connector, URL: "https://vmcp.example/connect/" + connector + "?ticket=t"}
}

func newUserCredServer(t *testing.T) (*Server, *session.Codec, *identity.Signer) {
	t.Helper()
	cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(`
connectors:
  - name: github
    url: http://127.0.0.1:19003/mcp
    credential: {type: oauth, client_id: vmcp}
virtual_servers:
  - name: demo
    connectors: [github]
`))
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := session.NewCodec([]byte(strings.Repeat("s", 32)), time.Hour)
	srv := NewServer(codec, testSigner, nil, nil, zaptest.NewLogger(t))
	r := usercred.NewResolver(userTokens{}, nil, nil)
	for _, prepare := range []func(*config.Config) (func(), error){srv.Prepare, r.Prepare} {
		commit, err := prepare(cfg)
		if err != nil {
			t.Fatal(err)
		}
		commit()
	}
	srv.SetUserCredentials(r)
	return srv, codec, testSigner
}

// callAsUser plays Envoy for one tools/call by subject, with extra request headers.
func callAsUser(srv *Server, subject, body string, extra ...*corev3.HeaderValue) *extprocv3.ProcessingResponse {
	e := srv.edgeExchange(context.Background(), srv.state.Load())
	hdrs := append([]*corev3.HeaderValue{{Key: ":path", RawValue: []byte("/v/demo/mcp")}, {Key: ":method", RawValue: []byte("POST")},
		signedAs(identity.Identity{Subject: subject, VirtualServer: "demo"})}, extra...)
	e.handle(&extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hdrs}}},
	})
	return e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}})
}

const callGitHub = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"github__whoami","arguments":{}}}`

func TestAConnectedUsersCallCarriesTheirOwnToken(t *testing.T) {
	srv, codec, _ := newUserCredServer(t)
	sid, _ := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", Upstream: map[string]string{"github": "up-1"}})
	resp := callAsUser(srv, "alice", callGitHub, &corev3.HeaderValue{Key: "mcp-session-id", RawValue: []byte(sid)})
	if got := setHeaders(resp)["authorization"]; got != "Bearer alice-github-token" {
		t.Fatalf("authorization = %q, want alice's own token", got)
	}
}

func TestAUserWhoIsNotConnectedIsToldWhereToConnect(t *testing.T) {
	srv, codec, _ := newUserCredServer(t)
	session2025 := func(url bool) *corev3.HeaderValue {
		sid, _ := codec.Seal(session.State{Subject: "bob", VirtualServer: "demo", URLElicitation: url})
		return &corev3.HeaderValue{Key: "mcp-session-id", RawValue: []byte(sid)}
	}
	modern := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"github__whoami","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{"url":{}}}}}}`
	modernHeaders := []*corev3.HeaderValue{{Key: "mcp-protocol-version", RawValue: []byte("2026-07-28")}, {Key: "mcp-method", RawValue: []byte("tools/call")}, {Key: "mcp-name", RawValue: []byte("github__whoami")}}
	for _, tc := range []struct {
		name        string
		body        string
		headers     []*corev3.HeaderValue
		elicitation bool
	}{
		{"a 2025-11-25 session that declared url elicitation gets -32042", callGitHub, []*corev3.HeaderValue{session2025(true)}, true},
		{"a session that did not gets a tool error with the link", callGitHub, []*corev3.HeaderValue{session2025(false)}, false},
		{"a 2026-07-28 request declaring it in _meta gets -32042", modern, modernHeaders, true},
		{"a sessionless request without capabilities gets a tool error", callGitHub, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := callAsUser(srv, "bob", tc.body, tc.headers...)
			ir := resp.GetImmediateResponse()
			if ir == nil {
				t.Fatalf("want an immediate answer, got %v", resp)
			}
			var msg struct {
				Result *struct {
					IsError bool `json:"isError"`
					Content []struct{ Text string }
				}
				Error *struct {
					Code int
					Data struct {
						Elicitations []struct{ Mode, ElicitationID, URL string }
					}
				}
			}
			if err := json.Unmarshal(ir.Body, &msg); err != nil {
				t.Fatal(err)
			}
			if tc.elicitation {
				if msg.Error == nil || msg.Error.Code != -32042 || len(msg.Error.Data.Elicitations) != 1 || msg.Error.Data.Elicitations[0].Mode != "url" ||
					msg.Error.Data.Elicitations[0].ElicitationID == "" || !strings.HasPrefix(msg.Error.Data.Elicitations[0].URL, "https://vmcp.example/connect/github") {
					t.Fatalf("body %s, want -32042 with one url elicitation", ir.Body)
				}
				return
			}
			if msg.Result == nil || !msg.Result.IsError || len(msg.Result.Content) != 1 || !strings.Contains(msg.Result.Content[0].Text, "https://vmcp.example/connect/github") {
				t.Fatalf("body %s, want a tool error with the link", ir.Body)
			}
		})
	}
}

func TestEgressCarriesTheUserCredentialOnlyForAVerifiedIdentity(t *testing.T) {
	srv, _, signer := newUserCredServer(t)
	egress := func(identityHeader string) map[string]string {
		e := &egressExchange{state: srv.state.Load(), users: srv.users, signer: srv.signer, audit: audit.Discard{}, ctx: context.Background(), log: srv.log}
		resp := e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: ":path", RawValue: []byte("/mcp")}, {Key: "x-vmcp-connector", RawValue: []byte("github")},
			{Key: "x-vmcp-identity", RawValue: []byte(identityHeader)}, {Key: "authorization", RawValue: []byte("Bearer client-token")},
		}}}}})
		out := map[string]string{}
		mut := resp.GetRequestHeaders().GetResponse().GetHeaderMutation()
		for _, h := range mut.GetSetHeaders() {
			out[h.Header.Key] = string(h.Header.RawValue)
		}
		for _, r := range mut.GetRemoveHeaders() {
			out["-"+r] = "removed"
		}
		return out
	}
	signed, _ := signer.Sign(identity.Identity{Subject: "alice", VirtualServer: "demo", Expiry: time.Now().Add(time.Hour).Unix()})
	if got := egress(signed); got["authorization"] != "Bearer alice-github-token" {
		t.Errorf("alice's fan-out: %v, want her token", got)
	}
	otherKey, _ := identity.NewSigner([]byte(strings.Repeat("x", 32)))
	forged, _ := otherKey.Sign(identity.Identity{Subject: "alice", VirtualServer: "demo", Expiry: time.Now().Add(time.Hour).Unix()})
	for name, id := range map[string]string{"a forged identity": forged, "no identity": ""} {
		if got := egress(id); len(got) != 0 {
			t.Errorf("%s: %v, want a refusal with no credential", name, got)
		}
	}
	bob, _ := signer.Sign(identity.Identity{Subject: "bob", VirtualServer: "demo", Expiry: time.Now().Add(time.Hour).Unix()})
	if got := egress(bob); got["authorization"] != "" || got["-authorization"] != "removed" {
		t.Errorf("bob (not connected): %v, want no credential", got)
	}
}

// BenchmarkRoutedCallWithAUsersOwnToken is a whole routed tools/call through the edge exchange
// (headers, body, rewrite) for a connector with per-user OAuth, the user's token cached.
func BenchmarkRoutedCallWithAUsersOwnToken(b *testing.B) {
	srv, codec, _ := newUserCredServer(&testing.T{})
	srv.log = zap.NewNop()
	sid, _ := codec.Seal(session.State{Subject: "alice", VirtualServer: "demo", Upstream: map[string]string{"github": "up-1"}})
	h := &corev3.HeaderValue{Key: "mcp-session-id", RawValue: []byte(sid)}
	callAsUser(srv, "alice", callGitHub, h)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if resp := callAsUser(srv, "alice", callGitHub, h); resp.GetRequestBody() == nil {
			b.Fatal("not routed")
		}
	}
}

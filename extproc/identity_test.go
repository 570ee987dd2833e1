package extproc

import (
	"context"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
)

// testSigner stands for the identity key authz and extproc share.
var testSigner, _ = identity.NewSigner([]byte(strings.Repeat("i", 32)))

// signedAs is the identity header authz sets for id (expiry filled in).
func signedAs(id identity.Identity) *corev3.HeaderValue {
	if id.Expiry == 0 {
		id.Expiry = time.Now().Add(time.Hour).Unix()
	}
	signed, err := testSigner.Sign(id)
	if err != nil {
		panic(err)
	}
	return &corev3.HeaderValue{Key: headers.Identity, RawValue: []byte(signed)}
}

func TestTheCallerComesOnlyFromAnIdentityThatVerifies(t *testing.T) {
	srv, _ := newTestServer(t)
	other, _ := identity.NewSigner([]byte(strings.Repeat("x", 32)))
	forged, _ := other.Sign(identity.Identity{Subject: "mallory", VirtualServer: "demo", Expiry: time.Now().Add(time.Hour).Unix()})
	expired, _ := testSigner.Sign(identity.Identity{Subject: "alice", VirtualServer: "demo", Expiry: time.Now().Add(-time.Minute).Unix()})
	for _, tc := range []struct {
		name string
		id   *corev3.HeaderValue
		want string
	}{
		{"signed by authz", signedAs(identity.Identity{Subject: "alice", Email: "a@example.com", Groups: []string{"eng"}, VirtualServer: "demo"}), "alice"},
		{"no identity", nil, ""},
		{"signed with another key", &corev3.HeaderValue{Key: headers.Identity, RawValue: []byte(forged)}, ""},
		{"expired", &corev3.HeaderValue{Key: headers.Identity, RawValue: []byte(expired)}, ""},
		{"for another virtual server", signedAs(identity.Identity{Subject: "alice", VirtualServer: "other"}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := srv.edgeExchange(context.Background(), srv.state.Load())
			hdrs := []*corev3.HeaderValue{{Key: ":path", RawValue: []byte("/v/demo/mcp")}, {Key: ":method", RawValue: []byte("POST")}}
			if tc.id != nil {
				hdrs = append(hdrs, tc.id)
			}
			e.handle(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: hdrs}}}})
			if e.subject != tc.want || e.caller.Subject != tc.want {
				t.Fatalf("caller = %q (%+v), want %q", e.subject, e.caller, tc.want)
			}
			if tc.want != "" && (e.caller.Email != "a@example.com" || len(e.caller.Groups) != 1 || e.signed == "") {
				t.Errorf("caller = %+v, signed %q: the identity's claims are lost", e.caller, e.signed)
			}
		})
	}
}

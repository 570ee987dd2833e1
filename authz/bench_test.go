package authz

import (
	"context"
	"fmt"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/cputime"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/store"
)

func benchRequest(token string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "POST", Path: "/v/eng/mcp",
			Headers: map[string]string{
				"authorization": "Bearer " + token, "content-type": "application/json",
				"mcp-protocol-version": "2025-11-25", "x-request-id": "bench",
			},
		}},
	}}
}

// BenchmarkCheck measures ext_authz Check server-side, without gRPC: a cached token (the steady
// state of a connected client), the same with a thousand other tokens and families revoked
// (the revocation check on every request), and an uncached one (its first request, or a cache
// of size 0).
func BenchmarkCheck(b *testing.B) {
	for _, tc := range []struct {
		name    string
		cache   int
		revoked int
	}{{"cached", 10000, 0}, {"cached_with_revocations", 10000, 1000}, {"uncached", 0, 0}} {
		b.Run(tc.name, func(b *testing.B) {
			t := &testing.T{}
			f := newFixture(t)
			f.srv.log = zap.NewNop()
			f.cfg.Auth.TokenCacheSize = tc.cache
			commit, err := f.srv.Prepare(f.cfg)
			if err != nil {
				b.Fatal(err)
			}
			commit()
			var list []store.Revocation
			for i := range tc.revoked {
				list = append(list,
					store.Revocation{Kind: store.RevokedToken, ID: fmt.Sprintf("jti-%d", i)},
					store.Revocation{Kind: store.RevokedFamily, ID: fmt.Sprintf("fid-%d", i)})
			}
			f.srv.revocations.replace(list)
			req := benchRequest(f.token(t, "https://mcp.example.com/v/eng/mcp"))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			stop := cputime.Start(b)
			for i := 0; i < b.N; i++ {
				resp, _ := f.srv.Check(ctx, req)
				if resp.GetOkResponse() == nil {
					b.Fatal("denied")
				}
			}
			stop()
		})
	}
}

// FuzzAuthorizationHeader: whatever arrives in Authorization, Check never panics and never
// allows a request without a token vmcp issued.
func FuzzAuthorizationHeader(f *testing.F) {
	t := &testing.T{}
	fx := newFixture(t)
	fx.srv.log = zap.NewNop()
	good := fx.token(t, "https://mcp.example.com/v/eng/mcp")
	for _, seed := range []string{"", "Bearer", "Bearer ", "bearer x", "Basic YTpi", "Bearer a.b.c", "Bearer " + good[:len(good)-2],
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", "Bearer ....", "Bearer " + good + " extra"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, authorization string) {
		resp, err := fx.srv.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
				Method: "POST", Path: "/v/eng/mcp", Headers: map[string]string{"authorization": authorization},
			}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetOkResponse() != nil {
			tok, _ := headers.BearerToken(authorization)
			if tok != good {
				t.Fatalf("allowed a request whose Authorization was not the issued token")
			}
		}
	})
}

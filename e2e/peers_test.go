package e2e

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// bearerProxy serves target (scheme://host:port) with every request carrying the bearer token, for MCP tools that
// cannot send one themselves. SSE answers are passed on as they arrive.
func bearerProxy(t *testing.T, target, token string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{
		FlushInterval: -1,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Header.Set("Authorization", "Bearer "+token)
		},
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

package clientmeta

import (
	"context"
	"testing"
)

// BenchmarkParseDocument measures validating a typical document, the work of every cache miss.
func BenchmarkParseDocument(b *testing.B) {
	body := withID(`{"client_id":"$ID","client_name":"Example MCP Client","client_uri":"https://app.example.com","logo_uri":"https://app.example.com/logo.png","redirect_uris":["http://127.0.0.1:3000/callback","http://localhost:3000/callback"],"grant_types":["authorization_code"],"response_types":["code"],"token_endpoint_auth_method":"none"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDocument(testClientID, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchCached measures Fetch on a cache hit, which is what an authorization request
// for a known client costs.
func BenchmarkFetchCached(b *testing.B) {
	f := NewFetcher(Options{})
	b.Cleanup(f.Close)
	d, err := ParseDocument(testClientID, withID(`{"client_id":"$ID","client_name":"N","redirect_uris":["https://a.example/cb"]}`))
	if err != nil {
		b.Fatal(err)
	}
	now := f.now()
	f.mu.Lock()
	f.cachePut(testClientID, d, now.Add(MaxCacheTTL), now)
	f.mu.Unlock()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Fetch(ctx, testClientID); err != nil {
			b.Fatal(err)
		}
	}
}

package usercred

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// A per-user credential's resolution is a span (a cache hit or miss), a token exchange its child,
// and the token service is handed the trace, so that its own spans join the caller's.
func TestCredentialResolutionAndTokenExchangeAreTraced(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	t.Cleanup(tracing.Use(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), false))
	seen := make(chan string, 4)
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "exchanged", "token_type": "Bearer", "expires_in": 600})
	}))
	t.Cleanup(sts.Close)
	r := NewResolver(nil, loadKeys(t), nil)
	cfg := &config.Config{Connectors: []config.Connector{exchangeConnector(sts.URL)}}
	cfg.Auth.Issuer = issuer
	commit, err := r.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()

	ctx, parent := tracing.Start(context.Background(), "request")
	for range 2 { // a miss, then a hit
		if _, err := r.Headers(ctx, alice, "jira"); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()
	traceID, _ := parent.IDs()
	if tp := <-seen; !strings.Contains(tp, traceID) {
		t.Errorf("the token service got traceparent %q, not of trace %s", tp, traceID)
	}
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	creds, exchanges := byName["credential jira"], byName["token exchange"]
	if len(creds) != 2 || len(exchanges) != 1 {
		t.Fatalf("%d credential spans, %d token exchange spans; want 2 and 1", len(creds), len(exchanges))
	}
	if exchanges[0].Parent().SpanID() != creds[0].SpanContext().SpanID() {
		t.Error("the token exchange is not a child of the credential's resolution")
	}
	hits := []bool{}
	for _, c := range creds {
		for _, kv := range c.Attributes() {
			if kv.Key == "vmcp.cache.hit" {
				hits = append(hits, kv.Value.AsBool())
			}
			if kv.Key == "vmcp.credential.type" && kv.Value.AsString() != string(config.CredentialTokenExchange) {
				t.Errorf("credential type %q", kv.Value.AsString())
			}
		}
	}
	if len(hits) != 2 || hits[0] || !hits[1] {
		t.Errorf("cache hits %v, want a miss then a hit", hits)
	}
}

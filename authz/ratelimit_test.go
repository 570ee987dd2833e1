package authz

import (
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// Each user of a rate-limited virtual server has their own bucket: one user over it gets 429
// with Retry-After while another user, and the same user elsewhere, go on; the bucket refills.
func TestAUserOverTheRateLimitGets429WithRetryAfter(t *testing.T) {
	f := newFixture(t)
	cfg, err := config.Load("test.yaml", []byte(testConfig+`    rate_limit: {requests_per_minute: 60, burst: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.VirtualServers[1].RateLimit; got.RequestsPerMinute != 60 || got.Burst != 3 {
		t.Fatalf("sales rate_limit = %+v", got)
	}
	commit, err := f.srv.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	now := time.Now()
	f.srv.now = func() time.Time { return now }
	mint := func(user, aud string) map[string]string {
		tok, err := f.minter.Mint(tokens.Claims{Subject: user, Audience: aud})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"authorization": "Bearer " + tok}
	}
	alice, bob := mint("alice", "https://mcp.example.com/v/sales/mcp"), mint("bob", "https://mcp.example.com/v/sales/mcp")
	aliceEng := mint("alice", "https://mcp.example.com/v/eng/mcp")

	for i := range 3 {
		if resp := check(t, f.srv, "/v/sales/mcp", alice); resp.GetOkResponse() == nil {
			t.Fatalf("request %d within the burst refused: %v", i+1, resp.GetDeniedResponse())
		}
	}
	resp := check(t, f.srv, "/v/sales/mcp", alice)
	if got := resp.GetDeniedResponse().GetStatus().GetCode(); got != 429 {
		t.Fatalf("request over the burst: status %d, want 429", got)
	}
	if got := deniedHeader(resp, "retry-after"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (one token a second)", got)
	}
	if resp := check(t, f.srv, "/v/sales/mcp", bob); resp.GetOkResponse() == nil {
		t.Errorf("bob was limited by alice's requests")
	}
	for range 5 {
		if resp := check(t, f.srv, "/v/eng/mcp", aliceEng); resp.GetOkResponse() == nil {
			t.Fatalf("eng has no rate_limit, but alice was limited there")
		}
	}
	now = now.Add(time.Second)
	if resp := check(t, f.srv, "/v/sales/mcp", alice); resp.GetOkResponse() == nil {
		t.Errorf("after a second alice is still limited: %v", resp.GetDeniedResponse())
	}
	if resp := check(t, f.srv, "/v/sales/mcp", alice); resp.GetDeniedResponse().GetStatus().GetCode() != 429 {
		t.Errorf("one second refills one request, but a second one passed")
	}
}

func TestRateLimitConfigurationIsChecked(t *testing.T) {
	for _, tc := range []struct{ rl, want string }{
		{"{requests_per_minute: -1}", "rate_limit needs"},
		{"{burst: 5}", "rate_limit needs"},
		{"{requests_per_minute: 600}", ""},
	} {
		cfg, err := config.Load("test.yaml", []byte(testConfig+"    rate_limit: "+tc.rl+"\n"))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.rl, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.rl, err, tc.want)
		case tc.want == "" && cfg.VirtualServers[1].RateLimit.Burst != 60:
			t.Errorf("%s: burst defaults to %d, want a tenth of a minute's requests (60)", tc.rl, cfg.VirtualServers[1].RateLimit.Burst)
		}
	}
}

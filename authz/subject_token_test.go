package authz

import (
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/headers"
)

// A trusted issuer's token reaches extproc (for RFC 8693 token exchange) only when a connector
// exchanges tokens. (vmcp's own tokens never are: their issuer has no remote key set.)
func TestTheCallersIdPTokenIsPassedOnOnlyForTokenExchange(t *testing.T) {
	p := newIDP(t)
	p.addKey("k1", true)
	tok := p.token("k1")
	subjectToken := func(yaml string) string {
		srv := newIDPServer(t, yaml)
		resp := check(t, srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok})
		if resp.GetOkResponse() == nil {
			t.Fatalf("token refused: %v", resp)
		}
		return resp.GetDynamicMetadata().GetFields()[headers.SubjectTokenMetadata].GetStringValue()
	}
	plain := idpConfig(p.srv.URL, "1m", "", "")
	if got := subjectToken(plain); got != "" {
		t.Error("the IdP token was passed on although no connector exchanges tokens")
	}
	exchanging := strings.Replace(plain, "    url: http://127.0.0.1:19001/mcp\n",
		"    url: http://127.0.0.1:19001/mcp\n    credential: {type: token_exchange, token_url: \"https://idp.example/token\", client_id: vmcp}\n", 1)
	if got := subjectToken(exchanging); got != tok {
		t.Error("the IdP token was not passed on for token exchange")
	}
}

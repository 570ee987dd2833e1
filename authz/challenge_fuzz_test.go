package authz

import (
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

// parseChallenge reads a Bearer challenge strictly (RFC 6750 §3: auth-params of token="quoted
// string", comma separated) and returns its parameters; ok is false for anything else, such as
// a parameter a quoted value broke out into, or a control character that could split the header.
func parseChallenge(v string) (params map[string][]string, ok bool) {
	rest, found := strings.CutPrefix(v, "Bearer ")
	if !found {
		return nil, false
	}
	params = map[string][]string{}
	for rest != "" {
		name, after, found := strings.Cut(rest, `="`)
		if !found || name == "" || strings.ContainsAny(name, " \t\",=") {
			return nil, false
		}
		value, after, found := strings.Cut(after, `"`)
		if !found || strings.ContainsAny(value, "\\") {
			return nil, false
		}
		for _, c := range value {
			if c < 0x20 || c == 0x7f {
				return nil, false
			}
		}
		params[name] = append(params[name], value)
		if after == "" {
			break
		}
		if rest, found = strings.CutPrefix(after, ", "); !found {
			return nil, false
		}
	}
	return params, true
}

// FuzzChallenge: whatever a policy (scope, reason) or a token error (reason) puts into a
// WWW-Authenticate challenge, it stays one well-formed challenge whose resource_metadata — where
// the client goes to sign in — is vmcp's, once. A quote or line break that broke out could point
// clients at an attacker's authorization server.
func FuzzChallenge(f *testing.F) {
	fx := newFixture(&testing.T{})
	vs := fx.srv.state.Load().byPath["/v/eng/mcp"]
	for _, seed := range [][2]string{
		{"mcp", "not in an allowed group"},
		{`mcp", resource_metadata="https://evil.example/`, `x", resource_metadata="https://evil.example/`},
		{"mcp\r\nSet-Cookie: a=b", "reason\nwith a line break"},
		{`\"`, `\\`},
		{"", ""},
		{"mcp:ops mcp:eng", "ünïcödé reason"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, scope, reason string) {
		responses := map[string]string{}
		for status, resp := range map[string]*authv3.CheckResponse{
			"401": unauthorized(vs.spelledFor(""), reason),
			"403": forbidden(vs.spelledFor(""), decision{scope: scope, reason: reason}),
		} {
			for _, h := range resp.GetDeniedResponse().GetHeaders() {
				if h.Header.Key == "www-authenticate" {
					responses[status] = h.Header.Value
				}
			}
		}
		if _, ok := responses["401"]; !ok {
			t.Fatal("a 401 without a challenge")
		}
		for status, challenge := range responses {
			params, ok := parseChallenge(challenge)
			if !ok {
				t.Fatalf("%s challenge is malformed: %q", status, challenge)
			}
			if got := params["resource_metadata"]; len(got) != 1 || got[0] != vs.metadata {
				t.Fatalf("%s challenge resource_metadata = %q, want only %q: %q", status, got, vs.metadata, challenge)
			}
		}
	})
}

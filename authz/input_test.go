package authz

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// input.mcp.method is a POST's Mcp-Method header (which extproc holds to the body on every
// revision); a GET or DELETE has no JSON-RPC body to hold it to, so its claim never reaches the
// policy.
func TestOnlyAPOSTsMcpMethodReachesThePolicy(t *testing.T) {
	vs := &virtualServer{name: "demo", path: "/v/demo/mcp"}
	vs.input = virtualServerInput(vs)
	for _, tc := range []struct{ httpMethod, want string }{
		{"POST", "tools/call"}, {"GET", ""}, {"DELETE", ""},
	} {
		in := buildInput(vs, verified{}, tc.httpMethod, vs.path, map[string]string{"mcp-method": "tools/call"})
		got, err := in.Find(ast.Ref{ast.StringTerm("mcp"), ast.StringTerm("method")})
		if err != nil || got.Compare(ast.String(tc.want)) != 0 {
			t.Errorf("%s: input.mcp.method = %v (%v), want %q", tc.httpMethod, got, err, tc.want)
		}
	}
}

package authz

import (
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// policyHeaders are the request headers a policy may look at. Credentials and cookies are
// deliberately absent: a policy never needs them and inputs get logged when debugging policies.
var policyHeaders = []string{
	"user-agent", "origin", "content-type", "mcp-protocol-version", "mcp-method", "mcp-name",
	"x-request-id", "x-forwarded-for",
}

// buildInput is the vmcp.authz input document (documented in policies/authz.rego).
func buildInput(vs *virtualServer, is *issuer, claims tokens.Claims, method, path string, hdrs map[string]string) (ast.Value, error) {
	selected := make(map[string]any, len(policyHeaders))
	for _, h := range policyHeaders {
		if v, ok := hdrs[h]; ok {
			selected[h] = v
		}
	}
	in := map[string]any{
		"subject": claims.Subject,
		"issuer":  is.name,
		"claims":  claims.All,
		"groups":  toAny(tokens.StringList(claims.All[is.groupsClaim])),
		"roles":   toAny(tokens.StringList(claims.All[is.rolesClaim])),
		"virtual_server": map[string]any{
			"name": vs.name,
			"path": vs.path,
			"access": map[string]any{
				"groups": toAny(vs.access.Groups),
				"roles":  toAny(vs.access.Roles),
			},
		},
		"request": map[string]any{"method": method, "path": path, "headers": selected},
		"mcp":     map[string]any{"method": hdrs["mcp-method"]},
	}
	return ast.InterfaceToValue(in)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

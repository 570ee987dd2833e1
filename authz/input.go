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

// The input document (documented in policies/authz.rego) is assembled from parts made once:
// the virtual server's at configuration time, the caller's when the token is first verified
// (and cached with it). Per request only the request's own fields are converted.

// identityInput converts what a verified token says into the input's caller fields.
func identityInput(is *issuer, claims tokens.Claims) ([][2]*ast.Term, error) {
	all, err := ast.InterfaceToValue(claims.All)
	if err != nil {
		return nil, err
	}
	return [][2]*ast.Term{
		ast.Item(ast.StringTerm("subject"), ast.StringTerm(claims.Subject)),
		ast.Item(ast.StringTerm("issuer"), ast.StringTerm(is.name)),
		ast.Item(ast.StringTerm("claims"), ast.NewTerm(all)),
		ast.Item(ast.StringTerm("groups"), stringsTerm(tokens.StringList(claims.All[is.groupsClaim]))),
		ast.Item(ast.StringTerm("roles"), stringsTerm(tokens.StringList(claims.All[is.rolesClaim]))),
	}, nil
}

// virtualServerInput converts a virtual server's part of the input.
func virtualServerInput(vs *virtualServer) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("name"), ast.StringTerm(vs.name)),
		ast.Item(ast.StringTerm("path"), ast.StringTerm(vs.path)),
		ast.Item(ast.StringTerm("access"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("groups"), stringsTerm(vs.access.Groups)),
			ast.Item(ast.StringTerm("roles"), stringsTerm(vs.access.Roles)),
		)),
	)
}

// buildInput assembles the input document of one request.
func buildInput(vs *virtualServer, v verified, method, path string, hdrs map[string]string) ast.Value {
	selected := make([][2]*ast.Term, 0, len(policyHeaders))
	for _, h := range policyHeaders {
		if val, ok := hdrs[h]; ok {
			selected = append(selected, ast.Item(ast.StringTerm(h), ast.StringTerm(val)))
		}
	}
	items := make([][2]*ast.Term, 0, len(v.input)+3)
	items = append(items, v.input...)
	items = append(items,
		ast.Item(ast.StringTerm("virtual_server"), vs.input),
		ast.Item(ast.StringTerm("request"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("method"), ast.StringTerm(method)),
			ast.Item(ast.StringTerm("path"), ast.StringTerm(path)),
			ast.Item(ast.StringTerm("headers"), ast.ObjectTerm(selected...)),
		)),
		ast.Item(ast.StringTerm("mcp"), ast.ObjectTerm(ast.Item(ast.StringTerm("method"), ast.StringTerm(mcpMethod(method, hdrs))))),
	)
	return ast.NewObject(items...)
}

// mcpMethod is the JSON-RPC method a request claims in its Mcp-Method header, for a POST (the
// only request with a JSON-RPC body); "" otherwise. ext_authz never sees the body, but extproc
// refuses any request whose Mcp-Method disagrees with its body's method, on every revision, before
// a connector or the aggregator sees it — so a policy may trust a method it is given. It may be
// "": clients before 2026-07-28 need not send the header, so a policy that restricts by method
// must list the methods it allows, never the ones it denies.
func mcpMethod(httpMethod string, hdrs map[string]string) string {
	if httpMethod != "POST" {
		return ""
	}
	return hdrs["mcp-method"]
}

func stringsTerm(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

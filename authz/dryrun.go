package authz

import (
	"fmt"
	"net/http"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// DryRunCaller is a made-up caller for `vmcp policy eval`: the claims a token of vmcp's own
// issuer would carry.
type DryRunCaller struct {
	Subject, Email, ClientID string
	Groups, Roles            []string
	// MCPMethod is the request's Mcp-Method header, when the dry run asks about one.
	MCPMethod string
}

// DryRunInput is the vmcp.authz input Check builds for a POST to the virtual server vsName by
// a token with the caller's claims: the same builders, so a dry run asks the policy the same
// question (only the token's own claims such as exp, iat and jti are absent).
func DryRunInput(cfg *config.Config, vsName string, c DryRunCaller) (ast.Value, error) {
	var vs *virtualServer
	for i := range cfg.VirtualServers {
		if v := &cfg.VirtualServers[i]; v.Name == vsName {
			vs = &virtualServer{name: v.Name, path: v.Path, access: v.Access}
		}
	}
	if vs == nil {
		return nil, fmt.Errorf("no virtual server named %q", vsName)
	}
	vs.input = virtualServerInput(vs)
	is := &issuer{name: cfg.Auth.Issuer, groupsClaim: "groups", rolesClaim: "roles"}
	all := map[string]any{"iss": cfg.Auth.Issuer, "sub": c.Subject, "aud": ResourceURL(cfg, &config.VirtualServer{Path: vs.path})}
	for k, v := range map[string]string{"email": c.Email, "client_id": c.ClientID} {
		if v != "" {
			all[k] = v
		}
	}
	for k, v := range map[string][]string{"groups": c.Groups, "roles": c.Roles} {
		if len(v) > 0 {
			list := make([]any, len(v))
			for i, s := range v {
				list[i] = s
			}
			all[k] = list
		}
	}
	in, err := identityInput(is, tokens.Claims{Subject: c.Subject, Email: c.Email, ClientID: c.ClientID, Groups: c.Groups, All: all})
	if err != nil {
		return nil, err
	}
	hdrs := map[string]string{}
	if c.MCPMethod != "" {
		hdrs["mcp-method"] = c.MCPMethod
	}
	return buildInput(vs, verified{input: in, issuer: is}, http.MethodPost, vs.path, hdrs), nil
}

// Package authz is vmcp's Envoy ext_authz service. For every request to a virtual server it
// decides who the caller is (a vmcp-issued JWT, audience-bound to that virtual server) and
// whether they may reach it; tool-level decisions come later, in extproc.
package authz

import (
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// compiled is the request-ready form of the configuration, swapped atomically on reload.
type compiled struct {
	byPath   map[string]*virtualServer
	verifier *tokens.Verifier
}

type virtualServer struct {
	name string
	// resource is the RFC 8707 resource URL: the audience a token must name.
	resource string
	// challenge is the full WWW-Authenticate value for a request without a token, prebuilt so
	// the deny path allocates nothing per request.
	challenge string
	// invalidPrefix starts the WWW-Authenticate value for a request with a bad token.
	invalidPrefix string
}

// ResourceURL is a virtual server's resource identifier: the URL clients use for it.
func ResourceURL(cfg *config.Config, vs *config.VirtualServer) string {
	return strings.TrimSuffix(cfg.Server.PublicURL, "/") + vs.Path
}

// ResourceMetadataURL is where RFC 9728 protected resource metadata for vs is served. The
// well-known segment goes between host and path, so each virtual server gets its own document.
func ResourceMetadataURL(cfg *config.Config, vs *config.VirtualServer) string {
	return strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/.well-known/oauth-protected-resource" + vs.Path
}

func compile(cfg *config.Config, keys jwk.Set) *compiled {
	c := &compiled{
		byPath:   make(map[string]*virtualServer, len(cfg.VirtualServers)),
		verifier: tokens.NewVerifier(keys, cfg.Auth.Issuer, cfg.Auth.Leeway.D()),
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		meta := ResourceMetadataURL(cfg, vs)
		c.byPath[vs.Path] = &virtualServer{
			name:          vs.Name,
			resource:      ResourceURL(cfg, vs),
			challenge:     `Bearer resource_metadata="` + meta + `"`,
			invalidPrefix: `Bearer resource_metadata="` + meta + `", error="invalid_token", error_description="`,
		}
	}
	return c
}

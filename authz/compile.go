// Package authz is vmcp's Envoy ext_authz service. For every request to a virtual server it
// decides who the caller is (a JWT from vmcp's own authorization server or a trusted identity
// provider, audience-bound to that virtual server) and whether they may reach it (the Rego
// policy vmcp.authz); tool-level decisions come later, in extproc.
package authz

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/origin"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
)

// gate is what Check decides with, built from one configuration and swapped atomically on
// reload: the virtual servers by path, the token issuers, the vmcp.authz policy, the token
// cache and the browser origins allowed.
type gate struct {
	byPath  map[string]*virtualServer
	issuers map[string]*issuer
	policy  *policy
	cache   *tokenCache
	origins origin.Policy
	// passSubjectToken: some connector trades the caller's IdP token (token_exchange).
	passSubjectToken bool
}

type virtualServer struct {
	name string
	path string
	// resource is the canonical RFC 8707 resource URL; audiences are every spelling of it
	// (server.public_url and its aliases), any of which a token may name.
	resource  string
	audiences []string
	// challenge is the full WWW-Authenticate value for a request without a token, prebuilt so
	// the deny path allocates nothing per request; metadata the RFC 9728 document's URL. Both
	// name the canonical URL; byHost holds them in the spelling of each other public URL.
	challenge string
	metadata  string
	byHost    map[string]spelling
	access    config.Access
	// limits is the per-user rate limit (rate_limit), nil when there is none.
	limits *limiters
	// input is this virtual server's part of the policy input, converted once.
	input *ast.Term
	// names maps tool names to connectors when that follows from the configuration alone (the
	// connector prefix is always there), for the route hint (hint.go); nil otherwise.
	names *toolnames.Map
	// maxBody is server.max_request_bytes: a call declaring a larger body gets no route hint
	// (hint.go).
	maxBody int64
	// decisions are vmcp_authz_decisions_total's series of this virtual server, by decision,
	// resolved once: counting a Check is then an atomic add, not a label hash under the
	// vector's lock.
	decisions map[string]prometheus.Counter
}

// issuer is one trusted token issuer.
type issuer struct {
	name string
	// account names the issuer whose users these are: vmcp's own issuer for every spelling of
	// it (a user signed in on localhost and on 127.0.0.1 is one user to the rate limit).
	account     string
	groupsClaim string
	rolesClaim  string
	// own is vmcp's key ring; remote issuers' keys come from their JWKS.
	own    KeySource
	remote *remoteKeys
	algs   []string
	leeway time.Duration
	now    func() time.Time
}

func (is *issuer) verifier() *tokens.Verifier {
	if is.own != nil {
		return tokens.NewVerifier(is.own.PublicSet(), is.name, is.leeway).WithClock(is.now)
	}
	return tokens.NewVerifier(is.remote.current(), is.name, is.leeway).WithAlgorithms(is.algs).WithClock(is.now)
}

// refresh fetches the issuer's keys again (rate-limited) after a token named an unknown key.
func (is *issuer) refresh(ctx context.Context) bool {
	if is.own != nil {
		return is.own.Reload(ctx, ownKeysReloadInterval)
	}
	return is.remote.refresh(ctx)
}

// ownKeysReloadInterval limits store reads caused by tokens with unknown key ids; a key another
// replica just rotated in is picked up within it.
const ownKeysReloadInterval = 10 * time.Second

// ResourceURL is a virtual server's resource identifier: the URL clients use for it.
func ResourceURL(cfg *config.Config, vs *config.VirtualServer) string {
	return strings.TrimSuffix(cfg.Server.PublicURL, "/") + vs.Path
}

// ResourceURLs lists every spelling of vs's resource identifier, the canonical one first: one
// per public URL (server.public_url, its aliases, and in development the loopback twins).
func ResourceURLs(cfg *config.Config, vs *config.VirtualServer) []string {
	bases := cfg.PublicURLs()
	out := make([]string, len(bases))
	for i, b := range bases {
		out[i] = b + vs.Path
	}
	return out
}

// spelling is a virtual server's challenge and metadata URL as seen from one public URL.
type spelling struct{ challenge, metadata string }

// challengeFor is the WWW-Authenticate value for a client that reached the edge on base: the
// metadata URL is on the same host, so the resource it names is the one the client used.
func challengeFor(base string, vs *config.VirtualServer) spelling {
	meta := base + "/.well-known/oauth-protected-resource" + vs.Path
	// MCP 2025-11-25: the challenge names the scope a client should ask for.
	return spelling{challenge: `Bearer resource_metadata="` + meta + `", scope="mcp"`, metadata: meta}
}

// compile builds the gate for cfg. remotes carries the previous configuration's key sets
// over, so that a reload does not forget keys (or refetch them) for unchanged issuers.
func (s *Server) compile(ctx context.Context, cfg *config.Config) (*gate, map[string]*remoteKeys, error) {
	pol, err := loadPolicy(ctx, cfg.ActivePolicies, cfg.PolicyDir())
	if err != nil {
		return nil, nil, err
	}
	gate := &gate{
		byPath:  make(map[string]*virtualServer, len(cfg.VirtualServers)),
		issuers: map[string]*issuer{},
		policy:  pol,
		cache:   newTokenCache(cfg.Auth.TokenCacheSize, s.metrics),
		// A browser on an alias is as much this deployment's own origin as one on public_url.
		origins: origin.New(cfg.Server.PublicURL, append(cfg.PublicURLs()[1:], cfg.Server.AllowedOrigins...)),

		passSubjectToken: exchangesTokens(cfg),
	}
	leeway := cfg.Auth.Leeway
	for _, name := range append([]string{cfg.Auth.Issuer}, cfg.Issuers()...) {
		gate.issuers[name] = &issuer{
			name: name, account: cfg.Auth.Issuer, groupsClaim: "groups", rolesClaim: "roles",
			own: s.keys, leeway: leeway, now: s.clock,
		}
	}
	remotes := map[string]*remoteKeys{}
	for _, ti := range cfg.Auth.TrustedIssuers {
		key := ti.JWKSURL + " " + ti.MinRefreshInterval.String() + " " + ti.RefreshInterval.String()
		rk := s.remotes[key]
		if rk == nil {
			rk = newRemoteKeys(ti.JWKSURL, ti.RefreshInterval, ti.MinRefreshInterval, &http.Client{Timeout: 10 * time.Second}, s.log, s.clock)
			fetchCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			rk.refresh(fetchCtx) // a failure is logged; tokens from this issuer fail until it answers
			cancel()
		}
		remotes[key] = rk
		gate.issuers[ti.Issuer] = &issuer{
			name: ti.Issuer, account: ti.Issuer, groupsClaim: ti.GroupsClaim, rolesClaim: ti.RolesClaim,
			remote: rk, algs: ti.Algorithms, leeway: leeway, now: s.clock,
		}
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		canonical := challengeFor(strings.TrimSuffix(cfg.Server.PublicURL, "/"), vs)
		v := &virtualServer{
			name:      vs.Name,
			path:      vs.Path,
			resource:  ResourceURL(cfg, vs),
			audiences: ResourceURLs(cfg, vs),
			challenge: canonical.challenge,
			metadata:  canonical.metadata,
			byHost:    map[string]spelling{},
			access:    vs.Access,
			limits:    newLimiters(vs.RateLimit),
			maxBody:   int64(cfg.Server.MaxRequestBytes),
		}
		for _, base := range cfg.PublicURLs() {
			if u, err := url.Parse(base); err == nil {
				if _, dup := v.byHost[strings.ToLower(u.Host)]; !dup {
					v.byHost[strings.ToLower(u.Host)] = challengeFor(base, vs)
				}
			}
		}
		v.input = virtualServerInput(v)
		v.decisions = map[string]prometheus.Counter{}
		for _, d := range []string{"allow", "deny", "unauthenticated", "error"} {
			v.decisions[d] = s.decisions.WithLabelValues(vs.Name, d)
		}
		if names := toolnames.New(vs); names.Static() {
			v.names = names
		}
		gate.byPath[vs.Path] = v
	}
	return gate, remotes, nil
}

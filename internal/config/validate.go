package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/toolglob"
)

// nameRE keeps connector and virtual server names safe in cluster names, URL paths and tool
// prefixes: MCP tool names allow [A-Za-z0-9_.-], and a name must not contain the separator.
// MaxRequestBytesLimit is the largest server.max_request_bytes: a client request body Envoy
// buffers and hands extproc whole.
const MaxRequestBytesLimit = 64 << 20

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// pathRE is the shape of a virtual server's edge path.
var pathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

func (l *loader) validate(c *Config) {
	l.checkURL("server.public_url", c.Server.PublicURL)
	if u, err := url.Parse(c.Server.PublicURL); err == nil && (u.Path != "" && u.Path != "/" || u.RawQuery != "") {
		l.add("server.public_url", "server.public_url must be scheme://host[:port] with no path or query")
	}
	for i, a := range c.Server.PublicURLAliases {
		p := fmt.Sprintf("server.public_url_aliases[%d]", i)
		l.checkURL(p, a)
		if u, err := url.Parse(a); err == nil && (u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "") {
			l.add(p, "%s must be scheme://host[:port] with no path or query", p)
		}
		if strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(c.Server.PublicURL, "/")) {
			l.add(p, "%s repeats server.public_url", p)
		}
	}
	for _, a := range []struct{ path, addr string }{
		{"server.listen.xds", c.Server.Listen.XDS},
		{"server.listen.authz", c.Server.Listen.Authz},
		{"server.listen.extproc", c.Server.Listen.ExtProc},
		{"server.listen.http", c.Server.Listen.HTTP},
		{"server.envoy.edge", c.Server.Envoy.Edge},
		{"server.envoy.egress", c.Server.Envoy.Egress},
		{"server.envoy.admin", c.Server.Envoy.Admin},
	} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			l.add(a.path, "%s: %q is not host:port", a.path, a.addr)
		}
	}
	switch c.Server.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		l.add("server.log_level", "server.log_level: %q is not one of debug, info, warn, error", c.Server.LogLevel)
	}
	if c.Server.MaxRequestBytes < 1<<10 || c.Server.MaxRequestBytes > MaxRequestBytesLimit {
		l.add("server.max_request_bytes", "server.max_request_bytes: %d is not between 1024 and 67108864 (64 MiB)", c.Server.MaxRequestBytes)
	}
	for i, o := range c.Server.AllowedOrigins {
		p := fmt.Sprintf("server.allowed_origins[%d]", i)
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			l.add(p, "%s: %q is not an origin (scheme://host[:port])", p, o)
		}
	}
	l.checkURL("auth.issuer", c.Auth.Issuer)
	l.validateAuth(c)
	l.validateConnections(c)
	l.validateStoreAndAudit(c)
	l.validateObservability(c)
	l.validatePolicy(c)

	connectors := map[string]bool{}
	for i := range c.Connectors {
		conn := &c.Connectors[i]
		p := fmt.Sprintf("connectors[%d]", i)
		switch {
		case conn.Name == "":
			l.add(p, "%s: name is required", p)
		case !nameRE.MatchString(conn.Name):
			l.add(p+".name", "connector name %q must be lowercase letters, digits and '-', starting with a letter or digit (at most 63)", conn.Name)
		case connectors[conn.Name]:
			l.add(p+".name", "duplicate connector name %q", conn.Name)
		}
		connectors[conn.Name] = true
		l.validateTransport(c, p, conn)
		l.validateCredential(c, p+".credential", &conn.Credential)
	}

	names, paths := map[string]bool{}, map[string]bool{}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		p := fmt.Sprintf("virtual_servers[%d]", i)
		nameBad := true
		switch {
		case vs.Name == "":
			l.add(p, "%s: name is required", p)
		case !nameRE.MatchString(vs.Name):
			l.add(p+".name", "virtual server name %q must be lowercase letters, digits and '-'", vs.Name)
		case names[vs.Name]:
			l.add(p+".name", "duplicate virtual server name %q", vs.Name)
		default:
			nameBad = false
		}
		names[vs.Name] = true
		// A path left to its default (/v/<name>/mcp) is only as good as the name, which has
		// just been reported; a second problem about the same mistake is noise.
		_, pathWritten := l.positions[p+".path"]
		switch {
		case nameBad && !pathWritten:
		case !pathRE.MatchString(vs.Path):
			l.add(p+".path", "virtual server %q: path %q must be an absolute URL path of [A-Za-z0-9._~-] segments", vs.Name, vs.Path)
		case strings.HasPrefix(vs.Path, "/.well-known/") || strings.HasPrefix(vs.Path, "/oauth/") || strings.HasPrefix(vs.Path, "/connect/"):
			l.add(p+".path", "virtual server %q: path %q is reserved for vmcp's own endpoints", vs.Name, vs.Path)
		case paths[vs.Path]:
			l.add(p+".path", "virtual server %q: path %q is already used by another virtual server", vs.Name, vs.Path)
		case strings.HasPrefix(vs.Path, "/console/"): // the web console's, routed by the edge before virtual servers
			l.add(p+".path", "virtual server %q: path %q is reserved for vmcp's own endpoints", vs.Name, vs.Path)
		}
		paths[vs.Path] = true
		switch vs.Prefix.Mode {
		case PrefixAlways, PrefixOnConflict, PrefixNever:
		default:
			l.add(p+".prefix.mode", "virtual server %q: prefix mode %q is not one of always, on_conflict, never", vs.Name, vs.Prefix.Mode)
		}
		if !toolSeparatorRE.MatchString(vs.Prefix.Separator) {
			l.add(p+".prefix.separator", "virtual server %q: separator %q must be 1-3 of the tool-name characters _ . -", vs.Name, vs.Prefix.Separator)
		}
		if len(vs.Connectors) == 0 {
			l.add(p, "virtual server %q: connectors must list at least one connector", vs.Name)
		}
		if rl := vs.RateLimit; rl.RequestsPerMinute < 0 || rl.Burst < 0 || rl.Burst > 0 && rl.RequestsPerMinute == 0 {
			l.add(p+".rate_limit", "virtual server %q: rate_limit needs requests_per_minute > 0 (and burst >= 0) or neither", vs.Name)
		}
		seen := map[string]bool{}
		for j, ref := range vs.Connectors {
			rp := fmt.Sprintf("%s.connectors[%d]", p, j)
			switch {
			case !connectors[ref.Name]:
				l.add(rp, "virtual server %q names connector %q, which is not defined under connectors", vs.Name, ref.Name)
			case seen[ref.Name]:
				l.add(rp, "virtual server %q lists connector %q twice", vs.Name, ref.Name)
			case strings.Contains(ref.Name, vs.Prefix.Separator):
				l.add(rp, "connector %q contains the separator %q of virtual server %q", ref.Name, vs.Prefix.Separator, vs.Name)
			}
			seen[ref.Name] = true
			l.validateTools(rp, vs.Prefix.Separator, ref.Tools)
		}
		for name := range vs.Access.Connectors {
			if !seen[name] {
				l.add(p+".access.connectors."+name, "virtual server %q: access.connectors names %q, which is not one of its connectors", vs.Name, name)
			}
		}
		for pattern := range vs.Access.Tools {
			if _, err := toolglob.Compile(pattern); err != nil {
				l.add(p+".access.tools."+pattern, "virtual server %q: access.tools: %v", vs.Name, err)
			}
		}
		l.validateDiscovery(p, vs)
	}
}

var toolSeparatorRE = regexp.MustCompile(`^[_.-]{1,3}$`)

func (l *loader) validateCredential(c *Config, p string, cr *Credential) {
	resolve := func(field string, s *Secret) {
		if err := s.resolve(c); err != nil {
			l.add(p+"."+field, "%s.%s: %v", p, field, err)
		}
	}
	requireSecret := func(field string, s *Secret) {
		if !s.IsSet() {
			l.add(p, "%s: %s is required for credential type %q", p, field, cr.Type)
			return
		}
		resolve(field, s)
	}
	switch cr.Type {
	case CredentialNone:
		if cr.Token.IsSet() || cr.Password.IsSet() {
			l.add(p, "%s: credential type none takes no token or password", p)
		}
	case CredentialBearer:
		requireSecret("token", &cr.Token)
	case CredentialHeader:
		if cr.Header == "" {
			l.add(p, "%s: header is required for credential type header", p)
		} else if !headerNameRE.MatchString(cr.Header) || strings.HasPrefix(strings.ToLower(cr.Header), "x-vmcp-") {
			l.add(p+".header", "%s.header: %q is not a usable header name", p, cr.Header)
		}
		requireSecret("token", &cr.Token)
	case CredentialQuery:
		if !queryParamRE.MatchString(cr.Param) {
			l.add(p, "%s: param must name the query parameter (letters, digits, _ - .) for credential type query", p)
		}
		requireSecret("token", &cr.Token)
	case CredentialBasic:
		if cr.Username == "" {
			l.add(p, "%s: username is required for credential type basic", p)
		}
		requireSecret("password", &cr.Password)
	case CredentialOAuth, CredentialTokenExchange, CredentialIdentityAssertion:
		l.validateUserCredential(c, p, cr)
	default:
		l.add(p+".type", "%s.type: unknown credential type %q (use none, bearer, header, query, basic, oauth, token_exchange or identity_assertion)", p, cr.Type)
	}
}

var queryParamRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

var headerNameRE = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// checkURL reports a URL that is not absolute http(s). Messages show the URL with any userinfo
// redacted, since a password pasted into a URL is still a password.
func (l *loader) checkURL(path, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			// url.Parse's reasons quote pieces of the input ("invalid port \":pass\"",
			// "invalid URL escape \"%zz\""), which may be pieces of a password.
			l.add(path, "%s: not a valid URL", path)
			return
		}
		l.add(path, "%s: not a valid URL: %v", path, errors.Unwrap(err))
		return
	}
	raw = redactURL(u)
	if u.Scheme != "http" && u.Scheme != "https" {
		l.add(path, "%s: %q must use http or https", path, raw)
		return
	}
	if u.Host == "" || u.Hostname() == "" {
		l.add(path, "%s: %q has no host", path, raw)
		return
	}
	if u.User != nil {
		l.add(path, "%s: credentials in URLs are not allowed; use the connector's credential", path)
	}
	if u.Fragment != "" {
		l.add(path, "%s: %q must not have a fragment", path, raw)
	}
}

// redactURL is u.Redacted() that also covers URLs Go parses as opaque: "user:pass@host/mcp"
// (no "//") has scheme "user" and opaque "pass@host/mcp", and Redacted leaves that alone.
func redactURL(u *url.URL) string {
	s := u.Redacted()
	if i := strings.LastIndex(s, "@"); i >= 0 && u.User == nil {
		start := 0
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			start = j + len("://")
		}
		return s[:start] + "xxxxx" + s[i:]
	}
	return s
}

// SignatureAlgorithms are the JWS algorithms a trusted issuer may use: asymmetric only.
var SignatureAlgorithms = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

func (l *loader) validateAuth(c *Config) {
	if c.Auth.TokenCacheSize < 0 {
		l.add("auth.token_cache_size", "auth.token_cache_size must not be negative")
	}
	if c.Auth.SignInMaxAge < 0 {
		l.add("auth.sign_in_max_age", "auth.sign_in_max_age must not be negative")
	}
	if c.Auth.Policies != "" {
		dir := resolveRelative(c, c.Auth.Policies)
		entries, err := os.ReadDir(dir)
		switch {
		case err != nil:
			l.add("auth.policies", "auth.policies: cannot read directory %s: %v", c.Auth.Policies, unwrapPathErr(err))
		case !hasRego(entries):
			l.add("auth.policies", "auth.policies: %s holds no .rego files", c.Auth.Policies)
		}
	}
	l.validateLogin(c)
	seen := map[string]bool{c.Auth.Issuer: true}
	for i := range c.Auth.TrustedIssuers {
		ti := &c.Auth.TrustedIssuers[i]
		p := fmt.Sprintf("auth.trusted_issuers[%d]", i)
		if ti.Issuer == "" {
			l.add(p, "%s: issuer is required", p)
		} else if seen[ti.Issuer] {
			l.add(p+".issuer", "%s: issuer %q is listed twice (or is vmcp's own issuer)", p, ti.Issuer)
		}
		seen[ti.Issuer] = true
		if ti.JWKSURL == "" {
			l.add(p, "%s: jwks_url is required", p)
		} else {
			l.checkURL(p+".jwks_url", ti.JWKSURL)
			if u, err := url.Parse(ti.JWKSURL); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
				l.add(p+".jwks_url", "%s.jwks_url: keys must be fetched over https (http is allowed for loopback only)", p)
			}
		}
		for j, alg := range ti.Algorithms {
			if !SignatureAlgorithms[alg] {
				l.add(fmt.Sprintf("%s.algorithms[%d]", p, j), "%s.algorithms: %q is not allowed (use RS*, PS*, ES* or EdDSA; never none or HS*)", p, alg)
			}
		}
		if ti.MinRefreshInterval < 0 || ti.RefreshInterval < 0 {
			l.add(p, "%s: refresh intervals must not be negative", p)
		}
	}
}

func hasRego(entries []os.DirEntry) bool {
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".rego") && !strings.HasSuffix(e.Name(), "_test.rego") {
			return true
		}
	}
	return false
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) validateLogin(c *Config) {
	if o := c.Auth.Login.OIDC; o != nil {
		p := "auth.login.oidc"
		if o.Issuer == "" {
			l.add(p, "%s: issuer is required", p)
		} else {
			l.checkURL(p+".issuer", o.Issuer)
		}
		if o.ClientID == "" {
			l.add(p, "%s: client_id is required", p)
		}
		if o.ClientSecret.IsSet() {
			if err := o.ClientSecret.resolve(c); err != nil {
				l.add(p+".client_secret", "%s.client_secret: %v", p, err)
			}
		}
	}
	users := map[string]bool{}
	for i, u := range c.Auth.Login.DevUsers {
		p := fmt.Sprintf("auth.login.dev_users[%d]", i)
		switch {
		case u.Username == "":
			l.add(p, "%s: username is required", p)
		case users[u.Username]:
			l.add(p+".username", "%s: duplicate user %q", p, u.Username)
		}
		users[u.Username] = true
		if !strings.HasPrefix(u.PasswordHash, "$2") {
			l.add(p+".password_hash", "%s: password_hash must be a bcrypt hash (vmcp hash-password prints one)", p)
		}
	}
	clients := map[string]bool{}
	for i := range c.Auth.Clients {
		cl := &c.Auth.Clients[i]
		p := fmt.Sprintf("auth.clients[%d]", i)
		switch {
		case cl.ClientID == "":
			l.add(p, "%s: client_id is required", p)
		case clients[cl.ClientID]:
			l.add(p+".client_id", "%s: duplicate client %q", p, cl.ClientID)
		}
		clients[cl.ClientID] = true
		if len(cl.RedirectURIs) == 0 {
			l.add(p, "%s: redirect_uris must list at least one URI", p)
		}
		for j, r := range cl.RedirectURIs {
			if err := CheckRedirectURI(r); err != nil {
				l.add(fmt.Sprintf("%s.redirect_uris[%d]", p, j), "%s.redirect_uris: %v", p, err)
			}
		}
		if cl.ClientSecret.IsSet() {
			if err := cl.ClientSecret.resolve(c); err != nil {
				l.add(p+".client_secret", "%s.client_secret: %v", p, err)
			}
		}
	}
}

// CheckRedirectURI enforces the MCP authorization spec's rule for redirect URIs: https, or http
// on a loopback host (native clients); never a fragment.
func CheckRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("%q must use https, or http on a loopback host", raw)
	}
}

func (l *loader) validateStoreAndAudit(c *Config) {
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.DSN.IsSet() {
			l.add("store.dsn", "store.dsn is for postgres; sqlite uses server.data_dir/vmcp.db")
		}
	case "postgres":
		if !c.Store.DSN.IsSet() {
			l.add("store", "store: dsn is required for driver postgres (e.g. ${env:VMCP_DATABASE_URL})")
		} else if err := c.Store.DSN.resolve(c); err != nil {
			l.add("store.dsn", "store.dsn: %v", err)
		}
	default:
		l.add("store.driver", "store.driver: %q is not sqlite or postgres", c.Store.Driver)
	}
	switch c.Audit.Arguments {
	case "off", "keys", "full":
	default:
		l.add("audit.arguments", "audit.arguments: %q is not off, keys or full", c.Audit.Arguments)
	}
	switch c.Audit.Mode {
	case "lossless", "lossy":
	default:
		l.add("audit.mode", "audit.mode: %q is not lossless or lossy", c.Audit.Mode)
	}
	if c.Audit.Buffer < 0 {
		l.add("audit.buffer", "audit.buffer must not be negative")
	}
	if c.Audit.Retention < 0 {
		l.add("audit.retention", "audit.retention must not be negative")
	}
}

// toolNameRE is the MCP tool-name rule (2025-11-25 "Tool names"): 1-128 of A-Z a-z 0-9 _ - .
var toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

func (l *loader) validateTools(p, separator string, tools map[string]ToolCustomization) {
	names := map[string]string{}
	for original, tc := range tools {
		tp := p + ".tools." + original
		if !toolNameRE.MatchString(original) {
			l.add(tp, "%s: %q is not a valid MCP tool name", p, original)
		}
		if tc.Name == "" {
			continue
		}
		switch {
		case !toolNameRE.MatchString(tc.Name):
			l.add(tp+".name", "%s.name: %q is not a valid MCP tool name (1-128 of A-Z a-z 0-9 _ - .)", tp, tc.Name)
		case strings.Contains(tc.Name, separator):
			l.add(tp+".name", "%s.name: %q contains the prefix separator %q", tp, tc.Name, separator)
		case names[tc.Name] != "":
			l.add(tp+".name", "%s.name: %q is also the new name of %q", tp, tc.Name, names[tc.Name])
		}
		names[tc.Name] = original
	}
	for original := range tools {
		if other, ok := names[original]; ok && other != original && tools[original].Name == "" {
			l.add(p+".tools."+other+".name", "%s: renaming %q to %q collides with the connector's own tool %q", p, other, original, original)
		}
	}
}

// Package config loads, validates and watches vmcp's single YAML configuration file.
//
// The file is decoded into the types below, checked for every problem at once (each named by
// file:line:column), and only then handed to the running components. Secrets are never written in
// the file itself: fields of type Secret hold a ${env:NAME} or ${file:path} reference that is
// resolved at load time and redacted whenever the value is printed.
package config

import (
	"time"

	"github.com/vmcp-dev/vmcp/internal/policyset"
)

// Config is the whole vmcp configuration file.
type Config struct {
	Server         Server          `yaml:"server"`
	Store          Store           `yaml:"store"`
	Audit          Audit           `yaml:"audit"`
	Auth           Auth            `yaml:"auth"`
	Connectors     []Connector     `yaml:"connectors"`
	VirtualServers []VirtualServer `yaml:"virtual_servers"`
	Policy         Policy          `yaml:"policy"`
	Observability  Observability   `yaml:"observability"`

	// Path is the file the configuration was read from; relative ${file:…} references and
	// data_dir are resolved against its directory.
	Path string `yaml:"-"`

	// ActivePolicies is the policy set this configuration is applied with, chosen once per apply
	// by the gateway (from auth.policies or policy.bundle) so that every component decides with
	// the same revision. Nil (tests, offline tools) means auth.policies or the defaults.
	ActivePolicies *policyset.Set `yaml:"-"`

	// secretFiles are the files ${file:…} references read, watched like the file itself.
	secretFiles []string
}

// SecretFiles lists the files the configuration's ${file:…} secrets were read from.
func (c *Config) SecretFiles() []string { return c.secretFiles }

// Server holds the addresses vmcp listens on and the Envoy it drives.
type Server struct {
	// PublicURL is the scheme://host[:port] clients use to reach the Envoy edge listener.
	// Every virtual server's resource URL (the JWT audience) is PublicURL + its path.
	PublicURL string `yaml:"public_url"`
	// PublicURLAliases are further scheme://host[:port] URLs that reach the same edge (another
	// DNS name, an internal load balancer). Each is a resource identifier of every virtual
	// server too: metadata, challenges and sign-in answer in the spelling the client used, and
	// a token for any spelling of a virtual server is good on it. PublicURL stays canonical.
	PublicURLAliases []string `yaml:"public_url_aliases"`
	// DataDir holds the embedded SQLite store and generated keys.
	DataDir string `yaml:"data_dir"`
	Listen  Listen `yaml:"listen"`
	Envoy   Envoy  `yaml:"envoy"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `yaml:"log_level"`
	// MaxRequestBytes bounds one client request body at the edge (Envoy answers 413 above it)
	// and at the aggregator. Tool arguments larger than this are refused, never cut.
	MaxRequestBytes int `yaml:"max_request_bytes"`
	// AllowedOrigins are browser origins (scheme://host[:port]) allowed to call virtual servers
	// besides PublicURL's own; a request with any other Origin header gets 403.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Pprof serves Go's profiles (net/http/pprof) under /debug/pprof/ on server.listen.http, which
	// the edge never routes to. Off by default: a profile costs processor time and a goroutine
	// dump shows request state, so only those who can reach vmcp's own listener may ask.
	Pprof bool `yaml:"pprof"`
}

// Store selects the persistent store: the embedded SQLite file (default; one replica), or
// PostgreSQL, which several vmcp replicas share.
type Store struct {
	// Driver is sqlite or postgres.
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL connection string (a secret: it usually holds a password), e.g.
	// ${env:VMCP_DATABASE_URL}. SQLite uses data_dir/vmcp.db.
	DSN Secret `yaml:"dsn"`
}

// Audit configures the audit trail.
type Audit struct {
	// Arguments says how much of a call's arguments is recorded: off, keys, or full (with
	// secret-looking values redacted).
	Arguments string `yaml:"arguments"`
	// Buffer is how many events may wait in memory for the store.
	Buffer int `yaml:"buffer"`
	// Mode is lossless (events that do not fit the buffer go to the spill file and are
	// replayed later) or lossy (they are dropped and counted).
	Mode string `yaml:"mode"`
	// SpillDir holds the spill file; default data_dir/audit-spill.
	SpillDir string `yaml:"spill_dir"`
	// Retention deletes events older than this; 0 keeps them forever.
	Retention time.Duration `yaml:"retention"`
	// AdminGroups may read the audit API (GET /admin/api/audit, /admin/api/usage).
	AdminGroups []string `yaml:"admin_groups"`
}

// Listen holds vmcp's own listening addresses, one per component, so that each can be firewalled,
// scaled and monitored on its own.
type Listen struct {
	XDS     string `yaml:"xds"`
	Authz   string `yaml:"authz"`
	ExtProc string `yaml:"extproc"`
	// HTTP serves the aggregator (the virtual MCP endpoint for fan-out methods) and, later, the
	// OAuth authorization server and the admin API.
	HTTP string `yaml:"http"`
}

// Envoy describes the Envoy that vmcp configures over xDS and, in `vmcp dev`, starts itself.
type Envoy struct {
	// Edge is the listener AI clients connect to.
	Edge string `yaml:"edge"`
	// Egress is the loopback listener the aggregator uses to reach connectors, so that TLS,
	// retries, stats and credential injection stay in Envoy for fan-out traffic too.
	Egress string `yaml:"egress"`
	Admin  string `yaml:"admin"`
	// CAFile is the trust bundle Envoy uses to verify https connectors.
	CAFile string `yaml:"ca_file"`
}

// Auth configures how vmcp issues and verifies access tokens.
type Auth struct {
	// Issuer is the `iss` of tokens vmcp issues; it defaults to Server.PublicURL.
	Issuer string `yaml:"issuer"`
	// TokenTTL is the lifetime of issued access tokens.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway time.Duration `yaml:"leeway"`
	// TrustedIssuers are identity providers whose JWTs vmcp accepts directly, besides its own.
	// Their tokens must still name the virtual server's resource URL as audience.
	TrustedIssuers []TrustedIssuer `yaml:"trusted_issuers"`
	// Policies is a directory of .rego files that replaces the embedded default policies.
	// Changes to its files are picked up like configuration changes.
	Policies string `yaml:"policies"`
	// TokenCacheSize bounds how many verified tokens authz remembers (by hash, until expiry).
	TokenCacheSize int `yaml:"token_cache_size"`

	// The authorization server MCP clients sign in through.

	// RefreshTokenTTL is how long a refresh token (and its rotated successors) stays usable.
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	// SignInMaxAge is how long after a user signed in their client may keep refreshing tokens.
	// Then the refresh is refused and the client signs in again, which reads the user's groups
	// (and whether they may still sign in at all) from the identity provider afresh: a refresh
	// token carries the groups of its sign-in, so without this bound a group removed at the IdP
	// would keep working for the whole refresh_token_ttl. Default 24h.
	SignInMaxAge time.Duration `yaml:"sign_in_max_age"`
	// CodeTTL is the lifetime of an authorization code.
	CodeTTL time.Duration `yaml:"code_ttl"`
	// KeyRotation is how often a new signing key is made; old public keys stay published until
	// every token they signed has expired.
	KeyRotation time.Duration `yaml:"key_rotation"`
	// Login says how users prove who they are.
	Login Login `yaml:"login"`
	// Clients are pre-registered OAuth clients.
	Clients []OAuthClient `yaml:"clients"`
	// DynamicRegistration enables RFC 7591 registration at /oauth/register.
	DynamicRegistration *bool `yaml:"dynamic_registration"`
	// ClientMetadataDocuments accepts https URLs as client ids (Client ID Metadata Documents).
	ClientMetadataDocuments *bool `yaml:"client_metadata_documents"`
	// Connections configures per-user connector connections (credential type oauth).
	Connections Connections `yaml:"connections"`
}

// Login configures user sign-in: the organisation's OIDC provider, or, for `vmcp dev` only, a
// built-in user list.
type Login struct {
	OIDC     *OIDCLogin `yaml:"oidc"`
	DevUsers []DevUser  `yaml:"dev_users"`
}

// OIDCLogin delegates sign-in to an OpenID Connect provider (authorization code + PKCE).
type OIDCLogin struct {
	Issuer       string   `yaml:"issuer"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret Secret   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
	// GroupsClaim names the ID token (or userinfo) claim that lists the user's groups.
	GroupsClaim string `yaml:"groups_claim"`
}

// DevUser is a built-in user for local development; `vmcp serve` refuses them.
type DevUser struct {
	Username string `yaml:"username"`
	// PasswordHash is a bcrypt hash (`vmcp hash-password` prints one).
	PasswordHash string   `yaml:"password_hash"`
	Email        string   `yaml:"email"`
	Groups       []string `yaml:"groups"`
}

// OAuthClient is a pre-registered OAuth client.
type OAuthClient struct {
	ClientID     string   `yaml:"client_id"`
	Name         string   `yaml:"name"`
	RedirectURIs []string `yaml:"redirect_uris"`
	// ClientSecret makes the client confidential; public clients (most MCP clients) use PKCE only.
	ClientSecret Secret `yaml:"client_secret"`
}

// TrustedIssuer is an external identity provider issuing JWT access tokens.
type TrustedIssuer struct {
	// Issuer must equal the tokens' iss exactly.
	Issuer string `yaml:"issuer"`
	// JWKSURL is where the issuer publishes its signing keys.
	JWKSURL string `yaml:"jwks_url"`
	// Algorithms are the signature algorithms accepted from this issuer. Never none, never HS*:
	// a symmetric algorithm verified with a public key is the classic forgery.
	Algorithms []string `yaml:"algorithms"`
	// GroupsClaim and RolesClaim name the claims that hold the caller's groups and roles.
	GroupsClaim string `yaml:"groups_claim"`
	RolesClaim  string `yaml:"roles_claim"`
	// RefreshInterval is how often the keys are fetched again in the background.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// MinRefreshInterval limits refetches triggered by tokens with an unknown key id, so that
	// a flood of made-up key ids cannot hammer the identity provider.
	MinRefreshInterval time.Duration `yaml:"min_refresh_interval"`
}

// Connector is one upstream MCP server reached over Streamable HTTP.
type Connector struct {
	Name string `yaml:"name"`
	// URL is the connector's MCP endpoint, http or https.
	URL string `yaml:"url"`
	// Timeout bounds each fan-out request (initialize, lists) to this connector.
	Timeout time.Duration `yaml:"timeout"`
	// CallTimeout bounds a whole routed call (tools/call and friends), streamed response
	// included.
	CallTimeout time.Duration `yaml:"call_timeout"`
	Credential  Credential    `yaml:"credential"`

	// Command, instead of URL, runs a local MCP server that speaks stdio (argv; the first
	// element is the program). vmcp supervises it and serves it over Streamable HTTP on
	// loopback; see stdio.go for Env, Dir and Limits.
	Command []string          `yaml:"command"`
	Env     map[string]Secret `yaml:"env"`
	Dir     string            `yaml:"dir"`
	Limits  Limits            `yaml:"limits"`
}

// CredentialType names how vmcp authenticates to a connector.
type CredentialType string

// The credential strategies understood so far.
const (
	CredentialNone   CredentialType = "none"
	CredentialBearer CredentialType = "bearer"
	CredentialHeader CredentialType = "header"
	CredentialBasic  CredentialType = "basic"
	// CredentialQuery sends the token as a URL query parameter, for APIs that take a key only
	// that way. Prefer a header where the connector allows one: URLs end up in more logs.
	CredentialQuery CredentialType = "query"
)

// Credential is the connector's own credential; the client's token never reaches a connector.
type Credential struct {
	Type CredentialType `yaml:"type"`
	// Token is the bearer token (type bearer) or header value (type header).
	Token Secret `yaml:"token"`
	// Header names the header that carries Token when Type is header (an API key, say).
	Header string `yaml:"header"`
	// Param names the query parameter that carries Token when Type is query.
	Param    string `yaml:"param"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`

	// Fields of the per-user strategies (oauth, token_exchange, identity_assertion); see
	// user_credential.go.
	ClientID         string   `yaml:"client_id"`
	ClientSecret     Secret   `yaml:"client_secret"`
	Scopes           []string `yaml:"scopes"`
	AuthorizationURL string   `yaml:"authorization_url"`
	TokenURL         string   `yaml:"token_url"`
	// RevocationURL is the RFC 7009 endpoint a disconnect revokes the user's tokens at; with
	// token_url unset it is discovered (revocation_endpoint) like the others.
	RevocationURL string        `yaml:"revocation_url"`
	Audience      string        `yaml:"audience"`
	TTL           time.Duration `yaml:"ttl"`
}

// PrefixMode says when a tool name gets its connector's prefix.
type PrefixMode string

// Prefix modes.
const (
	// PrefixAlways names every tool <connector><separator><tool>: stable, and never ambiguous.
	PrefixAlways PrefixMode = "always"
	// PrefixOnConflict keeps a tool's own name unless another connector of the virtual server
	// has a tool of the same name; then both get their connector's prefix. Names can change
	// when a connector adds or drops a tool.
	PrefixOnConflict PrefixMode = "on_conflict"
	// PrefixNever keeps every tool's own name. When two connectors have a tool of the same
	// name, the connector listed first wins and the other tool is left out (and logged).
	PrefixNever PrefixMode = "never"
)

// VirtualServer bundles connectors behind one MCP endpoint.
type VirtualServer struct {
	Name string `yaml:"name"`
	// Path is where the virtual server is served on the edge; it defaults to /v/<name>/mcp.
	Path       string         `yaml:"path"`
	Connectors []ConnectorRef `yaml:"connectors"`
	Prefix     Prefix         `yaml:"prefix"`
	// Access says who may use this virtual server; the vmcp.authz policy decides with it.
	Access Access `yaml:"access"`
	// Tools configures tool discovery (search instead of the full list) on this virtual server.
	Tools ToolDiscovery `yaml:"tools"`
	// RateLimit bounds each user's requests to this virtual server; zero means no limit.
	RateLimit RateLimit `yaml:"rate_limit"`
}

// RateLimit is a token bucket per user: RequestsPerMinute refill it, Burst is its size (default:
// a tenth of a minute's requests, at least 1). A request over it gets 429 with Retry-After.
// Buckets are per vmcp replica and start full again after a reload.
type RateLimit struct {
	RequestsPerMinute int `yaml:"requests_per_minute"`
	Burst             int `yaml:"burst"`
}

// Access lists the groups and roles let into a virtual server. Both empty means every signed-in
// user; otherwise a caller needs one of the groups or one of the roles.
type Access struct {
	Groups []string `yaml:"groups"`
	Roles  []string `yaml:"roles"`
	// Tools restricts tools to groups, by the name the client sees ("notes__delete_note") or a
	// glob ("notes__*"). Tools no pattern matches are open to everyone on the virtual server.
	// The vmcp.tools policy decides with it.
	Tools map[string][]string `yaml:"tools"`
	// Connectors restricts every primitive of a connector — its tools, resources, resource
	// templates and prompts, listed or used — to groups, by the connector's name. Connectors not
	// named are open to everyone on the virtual server. The vmcp.tools policy decides with it for
	// tools, vmcp.connectors for the rest.
	Connectors map[string][]string `yaml:"connectors"`
}

// ConnectorRef includes one connector in a virtual server. In YAML it is either the connector's
// name or a mapping with a name key.
type ConnectorRef struct {
	Name string `yaml:"name"`
	// Tools customizes this connector's tools on this virtual server, by the connector's own
	// tool name: rename, describe differently, or hide.
	Tools map[string]ToolCustomization `yaml:"tools"`
}

// ToolCustomization changes how one connector tool appears on a virtual server.
type ToolCustomization struct {
	// Name replaces the tool's name (before the connector prefix is added).
	Name string `yaml:"name"`
	// Description replaces the tool's description.
	Description string `yaml:"description"`
	// Hidden removes the tool from lists and refuses calls to it.
	Hidden bool `yaml:"hidden"`
}

// Prefix configures how tool names are namespaced by connector.
type Prefix struct {
	Mode      PrefixMode `yaml:"mode"`
	Separator string     `yaml:"separator"`
}

package config

import (
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Default addresses: everything on loopback, so a fresh `vmcp dev` exposes nothing beyond this
// machine.
const (
	DefaultEdge      = "127.0.0.1:8080"
	DefaultEgress    = "127.0.0.1:8081"
	DefaultAdmin     = "127.0.0.1:9901"
	DefaultXDS       = "127.0.0.1:18000"
	DefaultAuthz     = "127.0.0.1:18001"
	DefaultExtProc   = "127.0.0.1:18002"
	DefaultHTTP      = "127.0.0.1:18003"
	DefaultCAFile    = "/etc/ssl/certs/ca-certificates.crt"
	DefaultSeparator = "__"
)

func applyDefaults(c *Config) {
	s := &c.Server
	setDefault(&s.Envoy.Edge, DefaultEdge)
	setDefault(&s.Envoy.Egress, DefaultEgress)
	setDefault(&s.Envoy.Admin, DefaultAdmin)
	setDefault(&s.Envoy.CAFile, DefaultCAFile)
	setDefault(&s.Listen.XDS, DefaultXDS)
	setDefault(&s.Listen.Authz, DefaultAuthz)
	setDefault(&s.Listen.ExtProc, DefaultExtProc)
	setDefault(&s.Listen.HTTP, DefaultHTTP)
	setDefault(&s.PublicURL, "http://"+s.Envoy.Edge)
	setDefault(&s.DataDir, ".vmcp")
	setDefault(&s.LogLevel, "info")
	if s.MaxRequestBytes == 0 {
		s.MaxRequestBytes = DefaultMaxRequestBytes
	}
	setDefault(&c.Auth.Issuer, s.PublicURL)
	setDefault(&c.Store.Driver, "sqlite")
	setDefault(&c.Audit.Arguments, "keys")
	setDefault(&c.Audit.Mode, "lossless")
	setDefault(&c.Audit.SpillDir, filepath.Join(s.DataDir, "audit-spill"))
	if c.Audit.Buffer == 0 {
		c.Audit.Buffer = 10000
	}
	if c.Audit.Retention == 0 {
		c.Audit.Retention = 90 * 24 * time.Hour
	}
	if len(c.Audit.AdminGroups) == 0 {
		c.Audit.AdminGroups = []string{"vmcp-admins"}
	}
	if c.Auth.TokenTTL == 0 {
		c.Auth.TokenTTL = time.Hour
	}
	if c.Auth.Leeway == 0 {
		c.Auth.Leeway = 30 * time.Second
	}
	if c.Auth.RefreshTokenTTL == 0 {
		c.Auth.RefreshTokenTTL = 30 * 24 * time.Hour
	}
	if c.Auth.SignInMaxAge == 0 {
		c.Auth.SignInMaxAge = 24 * time.Hour
	}
	if c.Auth.CodeTTL == 0 {
		c.Auth.CodeTTL = time.Minute
	}
	if c.Auth.KeyRotation == 0 {
		c.Auth.KeyRotation = 30 * 24 * time.Hour
	}
	if c.Auth.DynamicRegistration == nil {
		c.Auth.DynamicRegistration = ptr(true)
	}
	if c.Auth.ClientMetadataDocuments == nil {
		c.Auth.ClientMetadataDocuments = ptr(true)
	}
	if o := c.Auth.Login.OIDC; o != nil {
		if len(o.Scopes) == 0 {
			o.Scopes = []string{"openid", "email", "profile"}
		}
		setDefault(&o.GroupsClaim, "groups")
	}
	if c.Auth.TokenCacheSize == 0 {
		c.Auth.TokenCacheSize = 10000
	}
	if c.Auth.Connections.TicketTTL == 0 {
		c.Auth.Connections.TicketTTL = 10 * time.Minute
	}
	for i := range c.Auth.TrustedIssuers {
		ti := &c.Auth.TrustedIssuers[i]
		if len(ti.Algorithms) == 0 {
			ti.Algorithms = []string{"RS256", "ES256"}
		}
		setDefault(&ti.GroupsClaim, "groups")
		setDefault(&ti.RolesClaim, "roles")
		if ti.RefreshInterval == 0 {
			ti.RefreshInterval = 15 * time.Minute
		}
		if ti.MinRefreshInterval == 0 {
			ti.MinRefreshInterval = 30 * time.Second
		}
	}
	for i := range c.Connectors {
		conn := &c.Connectors[i]
		if conn.Timeout == 0 {
			conn.Timeout = 10 * time.Second
		}
		if conn.CallTimeout == 0 {
			conn.CallTimeout = 5 * time.Minute
		}
		if conn.Credential.Type == "" {
			conn.Credential.Type = CredentialNone
		}
		applyCommandDefaults(conn)
	}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		setDefault(&vs.Path, "/v/"+vs.Name+"/mcp")
		if vs.Prefix.Mode == "" {
			vs.Prefix.Mode = PrefixAlways
		}
		setDefault(&vs.Prefix.Separator, DefaultSeparator)
		applyDiscoveryDefaults(&vs.Tools)
		if rl := &vs.RateLimit; rl.RequestsPerMinute > 0 && rl.Burst == 0 {
			rl.Burst = max(1, rl.RequestsPerMinute/10)
		}
	}
}

func setDefault(v *string, def string) {
	if *v == "" {
		*v = def
	}
}

// UnmarshalYAML accepts either a bare connector name or a mapping.
func (r *ConnectorRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		r.Name = n.Value
		return nil
	}
	type plain ConnectorRef
	return n.Decode((*plain)(r))
}

func ptr[T any](v T) *T { return &v }

// DefaultMaxRequestBytes is the default bound of one client request body: 4 MiB.
const DefaultMaxRequestBytes = 4 << 20

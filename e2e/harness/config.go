package harness

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Config is a vmcp configuration file as an e2e test writes it: named fields for what the tests
// vary, and YAML text for the rest. YAML renders it. Zero fields are left out, so vmcp's
// defaults apply (docs/configuration.md lists every field and its default).
type Config struct {
	Server Server
	Auth   Auth
	Store  Store
	// Connectors and VirtualServers are the two lists, in order.
	Connectors     []Connector
	VirtualServers []VirtualServer
	// Sections is further top-level YAML (audit:, policy:), written as it is.
	Sections string
}

// Server is the server: section.
type Server struct {
	// PublicURL is where clients reach the edge; empty means http:// and Envoy.Edge.
	PublicURL        string
	PublicURLAliases []string
	DataDir          string
	LogLevel         string
	Listen           Listen
	Envoy            Envoy
}

// Listen holds the addresses vmcp itself listens on.
type Listen struct{ XDS, Authz, ExtProc, HTTP string }

// Envoy holds the addresses of Envoy's listeners.
type Envoy struct{ Edge, Egress, Admin string }

// Auth is the auth: section.
type Auth struct {
	Leeway, TokenTTL, SignInMaxAge time.Duration
	// Policies is a directory of Rego policies that replaces the built-in ones.
	Policies string
	DevUsers []DevUser
	OIDC     *OIDC
}

// DevUser is an entry of auth.login.dev_users.
type DevUser struct {
	Username, PasswordHash, Email string
	Groups                        []string
}

// OIDC is auth.login.oidc: signing in at an OpenID provider.
type OIDC struct{ Issuer, ClientID, ClientSecret string }

// Store is the store: section; the zero Store leaves vmcp's default (SQLite in the data dir).
type Store struct{ Driver, DSN string }

// Connector is an entry of connectors:, reached at URL or started as Command.
type Connector struct {
	Name, URL            string
	Command              []string
	Timeout, CallTimeout time.Duration
	// Credential is the credential mapping as flow YAML, e.g.
	// `{type: bearer, token: "${file:notes-token}"}`.
	Credential string
	// Extra is further fields as YAML at the connector's own indentation (env:, limits:).
	Extra string
}

// VirtualServer is an entry of virtual_servers:.
type VirtualServer struct {
	Name string
	// Connectors are the entries of its connectors list, each a connector's name or a flow YAML
	// mapping (`{name: weather, tools: {convert_temperature: {hidden: true}}}`). Leave it empty to
	// give the list in Extra instead.
	Connectors []string
	// Prefix is prefix.mode: always, on_conflict or never; empty keeps vmcp's default.
	Prefix string
	// Extra is further fields as YAML at the virtual server's own indentation (access:,
	// rate_limit:, tools:).
	Extra string
}

// Connector returns the connector named name, for a test to change, or nil if there is none.
func (c *Config) Connector(name string) *Connector {
	for i := range c.Connectors {
		if c.Connectors[i].Name == name {
			return &c.Connectors[i]
		}
	}
	return nil
}

// YAML renders the configuration file.
func (c Config) YAML() string {
	var w yamlWriter
	w.text(0, c.Sections)
	if c.Store != (Store{}) {
		w.line(0, "store: {driver: %s, dsn: %s}", quote(c.Store.Driver), quote(c.Store.DSN))
	}

	w.line(0, "auth:")
	w.duration(1, "leeway", c.Auth.Leeway)
	w.duration(1, "token_ttl", c.Auth.TokenTTL)
	w.duration(1, "sign_in_max_age", c.Auth.SignInMaxAge)
	if c.Auth.Policies != "" {
		w.line(1, "policies: %s", quote(c.Auth.Policies))
	}
	if len(c.Auth.DevUsers) > 0 || c.Auth.OIDC != nil {
		w.line(1, "login:")
	}
	if o := c.Auth.OIDC; o != nil {
		w.line(2, "oidc: {issuer: %s, client_id: %s, client_secret: %s}", quote(o.Issuer), quote(o.ClientID), quote(o.ClientSecret))
	}
	if len(c.Auth.DevUsers) > 0 {
		w.line(2, "dev_users:")
		for _, u := range c.Auth.DevUsers {
			w.line(3, "- username: %s", quote(u.Username))
			w.line(4, "password_hash: %s", quote(u.PasswordHash))
			if u.Email != "" {
				w.line(4, "email: %s", quote(u.Email))
			}
			if len(u.Groups) > 0 {
				w.line(4, "groups: %s", flowList(u.Groups, quote))
			}
		}
	}

	s := c.Server
	w.line(0, "server:")
	publicURL := s.PublicURL
	if publicURL == "" {
		publicURL = "http://" + s.Envoy.Edge
	}
	w.line(1, "public_url: %s", quote(publicURL))
	if len(s.PublicURLAliases) > 0 {
		w.line(1, "public_url_aliases: %s", flowList(s.PublicURLAliases, quote))
	}
	if s.DataDir != "" {
		w.line(1, "data_dir: %s", quote(s.DataDir))
	}
	if s.LogLevel != "" {
		w.line(1, "log_level: %s", s.LogLevel)
	}
	w.line(1, "listen: {xds: %s, authz: %s, extproc: %s, http: %s}",
		quote(s.Listen.XDS), quote(s.Listen.Authz), quote(s.Listen.ExtProc), quote(s.Listen.HTTP))
	w.line(1, "envoy: {edge: %s, egress: %s, admin: %s}", quote(s.Envoy.Edge), quote(s.Envoy.Egress), quote(s.Envoy.Admin))

	if len(c.Connectors) > 0 {
		w.line(0, "connectors:")
	}
	for _, cn := range c.Connectors {
		w.line(1, "- name: %s", quote(cn.Name))
		if cn.URL != "" {
			w.line(2, "url: %s", quote(cn.URL))
		}
		if len(cn.Command) > 0 {
			w.line(2, "command: %s", flowList(cn.Command, quote))
		}
		w.duration(2, "timeout", cn.Timeout)
		w.duration(2, "call_timeout", cn.CallTimeout)
		if cn.Credential != "" {
			w.line(2, "credential: %s", cn.Credential)
		}
		w.text(2, cn.Extra)
	}

	if len(c.VirtualServers) > 0 {
		w.line(0, "virtual_servers:")
	}
	for _, vs := range c.VirtualServers {
		w.line(1, "- name: %s", quote(vs.Name))
		if len(vs.Connectors) > 0 {
			w.line(2, "connectors: %s", flowList(vs.Connectors, func(s string) string { return s }))
		}
		if vs.Prefix != "" {
			w.line(2, "prefix: {mode: %s}", vs.Prefix)
		}
		w.text(2, vs.Extra)
	}
	return w.String()
}

// yamlWriter writes block YAML, two spaces a level.
type yamlWriter struct{ strings.Builder }

func (w *yamlWriter) line(level int, format string, args ...any) {
	w.WriteString(strings.Repeat("  ", level))
	fmt.Fprintf(w, format, args...)
	w.WriteByte('\n')
}

func (w *yamlWriter) duration(level int, key string, d time.Duration) {
	if d != 0 {
		w.line(level, "%s: %s", key, d)
	}
}

// text writes YAML a test gave as text, indented to level; it is written at indentation 0 itself.
func (w *yamlWriter) text(level int, yaml string) {
	for l := range strings.SplitSeq(strings.TrimRight(yaml, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		w.line(level, "%s", l)
	}
}

// quote makes s a double-quoted YAML scalar: JSON's string syntax is a subset of it, and quoting
// keeps "${file:…}" references, hashes with "$" and URLs with ":" from being read as anything else.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func flowList(items []string, each func(string) string) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = each(it)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

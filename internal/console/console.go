// Package console serves vmcp's web console under /console/: administrators see what each
// virtual server exposes (and to whom), how its connectors are doing, the audit trail and usage
// charts, and may propose curation changes as a validated YAML diff; every signed-in user sees
// and manages their own per-user connector connections.
//
// The pages are server-rendered html/template with a little vanilla JavaScript (copy buttons,
// the audit live tail), embedded in the binary: no npm build, nothing to install in CI, and no
// third-party code running next to an admin's session. Charts are inline SVG drawn here.
//
// The console signs browsers in with vmcp's own login (the organisation's OIDC provider, or dev
// users in `vmcp dev`) through the authorization server's hand-off, then keeps a signed session
// cookie. Admin pages need one of audit.admin_groups, the same rule as the admin API. Envoy
// routes /console/ to vmcp without ext_authz: the console does its own authentication.
//
// The configuration file stays the source of truth: the console never changes state behind the
// file's back. A curation change is shown as a diff of the file, validated by the config
// loader, for the administrator to commit.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/oauth/login"
)

// Prefix is the path the console is served under, on vmcp's HTTP listener and on the edge.
const Prefix = "/console/"

// LoginPrefix starts the state of sign-ins the console hands to vmcp's login; the authorization
// server gives them back to FinishLogin (oauth.Server.HandOff).
const LoginPrefix = "console."

// EffectiveToolsFunc lists the tools — MCP Tool objects exactly as tools/list answers them —
// that user, in groups, would see on virtual server vs: connector lists merged, renamed, hidden
// and filtered by the vmcp.tools policy, through the same code path as a real tools/list. It
// has the shape of admin.EffectiveToolsFunc so the same function serves both.
type EffectiveToolsFunc func(ctx context.Context, user string, groups []string, vs string) ([]json.RawMessage, error)

// Connections is a user's per-user OAuth connections to connectors (the connect flow under
// /connect/). The connections manager implements it.
type Connections interface {
	// Connected lists the connectors that use per-user OAuth and whether subject is connected
	// to each.
	Connected(ctx context.Context, subject string) (map[string]bool, error)
	// Disconnect forgets subject's tokens for connector; disconnecting twice is not an error.
	Disconnect(ctx context.Context, subject, connector string) error
	// ConnectURL is the link that starts connecting subject to connector.
	ConnectURL(subject, connector string) string
}

// Recorder takes audit events; *audit.Recorder is one.
type Recorder interface {
	Record(ev audit.Event)
}

// Config wires the console.
type Config struct {
	// Store answers the audit and usage pages.
	Store audit.Store
	// SessionKey (32 bytes, the same on every replica) signs session cookies and CSRF tokens.
	SessionKey []byte
	// BeginLogin sends the browser to vmcp's sign-in with the given state (oauth.Server's
	// BeginLogin); it returns an error, having written nothing, when no sign-in is configured.
	BeginLogin func(w http.ResponseWriter, r *http.Request, state string) error
	// EffectiveTools and Connections are optional: nil shows "not available" on their pages.
	EffectiveTools EffectiveToolsFunc
	Connections    Connections
	// Recorder, when set, audits admin page views and refusals like the admin API audits its
	// requests (kind authz, method "console/<page>"); *audit.Recorder is one.
	Recorder Recorder
	Log      *zap.Logger
	// QueryTimeout bounds each store query and tool listing (default 15 s).
	QueryTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the console. Prepare must be committed before it serves pages.
type Handler struct {
	cfg      Config
	sessions codec
	state    atomic.Pointer[site]
	mux      *http.ServeMux
}

// site is what the console's pages need from one configuration.
type site struct {
	cfg         *config.Config
	publicURL   string
	secure      bool
	adminGroups []string
	// sessionTTL is sessionTTL or auth.sign_in_max_age, whichever is shorter: a console sign-in
	// carries its groups no longer than an MCP client's.
	sessionTTL time.Duration
}

//go:embed static
var static embed.FS

// New returns the console handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.BeginLogin == nil {
		return nil, errors.New("console: Store and BeginLogin are required")
	}
	if len(cfg.SessionKey) != 32 {
		return nil, errors.New("console: SessionKey must be 32 bytes")
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, sessions: codec{key: cfg.SessionKey, now: cfg.Now}, mux: http.NewServeMux()}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := h.mux
	m.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix, http.FileServerFS(static)))
	m.HandleFunc("GET "+Prefix+"signin", h.signIn)
	m.HandleFunc("GET "+Prefix+"{$}", h.user(h.home))
	m.HandleFunc("POST "+Prefix+"signout", h.user(h.post(h.signOut)))
	m.HandleFunc("GET "+Prefix+"connections", h.user(h.connectionsPage))
	m.HandleFunc("POST "+Prefix+"connections/disconnect", h.user(h.post(h.disconnect)))
	m.HandleFunc("GET "+Prefix+"servers", h.admin(h.serversPage))
	m.HandleFunc("GET "+Prefix+"connectors", h.admin(h.connectorsPage))
	m.HandleFunc("GET "+Prefix+"audit", h.admin(h.auditPage))
	m.HandleFunc("GET "+Prefix+"audit/rows", h.admin(h.auditRows))
	m.HandleFunc("GET "+Prefix+"usage", h.admin(h.usagePage))
	m.HandleFunc("GET "+Prefix+"propose", h.admin(h.proposePage))
	m.HandleFunc("POST "+Prefix+"propose", h.admin(h.post(h.propose)))
}

// Prepare compiles cfg; the returned commit makes it live.
func (h *Handler) Prepare(cfg *config.Config) (func(), error) {
	site := &site{
		cfg:         cfg,
		publicURL:   strings.TrimSuffix(cfg.Server.PublicURL, "/"),
		secure:      strings.HasPrefix(cfg.Server.PublicURL, "https://"),
		adminGroups: append([]string(nil), cfg.Audit.AdminGroups...),
		sessionTTL:  sessionTTL,
	}
	if m := cfg.Auth.SignInMaxAge; m > 0 && m < site.sessionTTL {
		site.sessionTTL = m
	}
	return func() { h.state.Store(site) }, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Pages show audit data and carry CSRF tokens: never cached, never framed (clickjacking
	// would turn a disconnect button into someone else's click), scripts only from the console.
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	if h.state.Load() == nil {
		http.Error(w, "console is not configured yet", http.StatusServiceUnavailable)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// FinishLogin receives a browser back from vmcp's login (registered with oauth.Server.HandOff
// for LoginPrefix): it sets the session cookie and returns the browser to the page it asked for.
func (h *Handler) FinishLogin(w http.ResponseWriter, r *http.Request, user login.User, state string) {
	site := h.state.Load()
	if site == nil || user.Subject == "" {
		http.Error(w, "console is not configured yet", http.StatusServiceUnavailable)
		return
	}
	now := h.cfg.Now()
	s := session{
		Subject: user.Subject, Email: user.Email, Name: user.Name, Groups: user.Groups,
		Expires: now.Add(site.sessionTTL).Unix(), Nonce: newNonce(),
	}
	http.SetCookie(w, cookie(h.sessions.encode(s), now.Add(site.sessionTTL), site.secure))
	h.cfg.Log.Info("console: signed in", zap.String("subject", s.Subject), zap.Bool("admin", isAdmin(site, s.Groups)))
	http.Redirect(w, r, nextFromState(state), http.StatusSeeOther)
}

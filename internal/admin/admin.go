// Package admin serves vmcp's admin HTTP API: the audit trail (GET /admin/api/audit) and usage
// analytics (GET /admin/api/usage), for callers in one of the configured admin groups.
//
// Every request to it is itself audited: one event of kind authz with Method "admin/audit" or
// "admin/usage", the caller as Subject, the query (without the cursor) as Target, Decision
// allow, deny or unauthenticated, and Outcome ok, denied or error. Kind authz because the
// event records an access decision about the audit trail, not an MCP call: it shows up in the
// trail (filter kind=authz) and stays out of usage analytics, which count MCP events only.
package admin

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// Admin API paths.
const (
	AuditPath = "/admin/api/audit"
	UsagePath = "/admin/api/usage"
)

// Methods recorded for admin API requests.
const (
	MethodAudit = "admin/audit"
	MethodUsage = "admin/usage"
)

// Recorder takes the audit events of admin API requests; *audit.Recorder is one.
type Recorder interface {
	Record(ev audit.Event)
}

// Config wires the handler.
type Config struct {
	Store    audit.Store
	Recorder Recorder
	// Authenticate identifies the caller, typically from an "Authorization: Bearer" token. It
	// returns an error when there is no credential or it is not valid; the error text is never
	// sent to the caller nor logged, so it may be specific.
	Authenticate func(r *http.Request) (subject string, groups []string, err error)
	// AdminGroups admits callers in any of them. Empty admits nobody.
	AdminGroups []string
	Log         *zap.Logger
	// EffectiveTools, when set, serves GET /admin/api/effective-tools (the tools/list dry run).
	EffectiveTools EffectiveToolsFunc
	// QueryTimeout bounds each store query (default 30 s).
	QueryTimeout time.Duration
	// Now is the clock for the default usage window; nil means time.Now.
	Now func() time.Time
	// Connections, when set, serves ConnectionsPath.
	Connections Connections
}

// Handler serves the admin API.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the admin API handler. Mount it at the root of a mux (it routes /admin/api/…
// itself).
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Recorder == nil || cfg.Authenticate == nil {
		return nil, errors.New("admin: Store, Recorder and Authenticate are required")
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.AdminGroups = slices.Clone(cfg.AdminGroups)
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	// Method patterns: anything but GET (and HEAD) gets 405 with an Allow header from the mux.
	h.mux.Handle("GET "+AuditPath, h.admin(MethodAudit, h.serveAudit))
	h.mux.Handle("GET "+UsagePath, h.admin(MethodUsage, h.serveUsage))
	if cfg.EffectiveTools != nil {
		h.mux.Handle("GET "+EffectiveToolsPath, h.admin(MethodEffectiveTools, h.serveEffectiveTools))
	}
	if cfg.Connections != nil {
		h.mux.Handle("GET "+ConnectionsPath, h.admin(MethodConnections, h.serveConnections))
		h.mux.Handle("DELETE "+ConnectionsPath+"/{connector}", h.admin(MethodConnections, h.serveConnections))
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Audit data: never cached by a browser or a proxy.
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

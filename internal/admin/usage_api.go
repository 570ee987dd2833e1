package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// UsageReport is the answer of GET /admin/api/usage.
type UsageReport struct {
	By    audit.GroupBy `json:"by"`
	Since time.Time     `json:"since"`
	Until time.Time     `json:"until"`
	Rows  []audit.Usage `json:"rows"`
}

var groupings = []string{string(audit.BySubject), string(audit.ByTarget), string(audit.ByConnector), string(audit.ByVirtualServer)}

// serveUsage: GET /admin/api/usage?by=user|tool|connector|virtual_server&since=&until= →
// calls, errors, denials and latency per group of MCP events in [since, until). The window
// defaults to the 24 hours before until, and until to now.
func (h *Handler) serveUsage(w http.ResponseWriter, r *http.Request, c *call) {
	p, err := newParams(r.URL.Query(), "by", "since", "until")
	if err != nil {
		h.fail(w, c, err)
		return
	}
	c.query = p.canonical()
	by, err := p.oneOf("by", groupings...)
	if err != nil {
		h.fail(w, c, err)
		return
	}
	if by == "" {
		by = string(audit.BySubject)
	}
	since, err := p.time("since")
	if err != nil {
		h.fail(w, c, err)
		return
	}
	until, err := p.time("until")
	if err != nil {
		h.fail(w, c, err)
		return
	}
	if until.IsZero() {
		until = h.cfg.Now()
	}
	if since.IsZero() {
		since = until.Add(-usageWindow)
	}
	if err := window(since, until); err != nil {
		h.fail(w, c, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	rows, err := h.cfg.Store.AuditUsage(ctx, audit.GroupBy(by), since, until)
	if err != nil {
		h.fail(w, c, err)
		return
	}
	if rows == nil {
		rows = []audit.Usage{}
	}
	writeJSON(w, http.StatusOK, UsageReport{By: audit.GroupBy(by), Since: since.UTC(), Until: until.UTC(), Rows: rows})
}

// usageWindow is the default span of GET /admin/api/usage.
const usageWindow = 24 * time.Hour

package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// AuditPage is the answer of GET /admin/api/audit.
type AuditPage struct {
	Events     []audit.Event `json:"events"`
	NextCursor string        `json:"next_cursor"`
}

// Page size bounds, as audit.Filter documents them.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

var outcomes = []string{audit.OutcomeOK, audit.OutcomeError, audit.OutcomeToolError, audit.OutcomeDenied, audit.OutcomeUpstream, audit.OutcomeAbandoned, audit.OutcomeUnknown}

// serveAudit: GET /admin/api/audit?user=&virtual_server=&connector=&tool=&outcome=&kind=
// &since=&until=&cursor=&limit= → events newest first and the cursor of the next page.
func (h *Handler) serveAudit(w http.ResponseWriter, r *http.Request, c *call) {
	f, p, err := auditFilter(r)
	if p != nil {
		c.query = p.canonical("cursor")
	}
	if err != nil {
		h.fail(w, c, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	evs, next, err := h.cfg.Store.QueryAuditEvents(ctx, f)
	if errors.Is(err, audit.ErrBadCursor) {
		err = badParam("cursor", "not a cursor from a previous page (or from another filter)")
	}
	if err != nil {
		h.fail(w, c, err)
		return
	}
	if evs == nil {
		evs = []audit.Event{} // [] rather than null: clients iterate without a nil check
	}
	writeJSON(w, http.StatusOK, AuditPage{Events: evs, NextCursor: next})
}

func auditFilter(r *http.Request) (audit.Filter, *params, error) {
	p, err := newParams(r.URL.Query(), "user", "virtual_server", "connector", "tool", "outcome", "kind", "since", "until", "cursor", "limit")
	if err != nil {
		return audit.Filter{}, nil, err
	}
	f := audit.Filter{
		Subject: p.str("user"), VirtualServer: p.str("virtual_server"), Connector: p.str("connector"),
		Target: p.str("tool"), Cursor: p.str("cursor"),
	}
	var kind string
	if f.Outcome, err = p.oneOf("outcome", outcomes...); err != nil {
		return f, p, err
	}
	if kind, err = p.oneOf("kind", string(audit.KindMCP), string(audit.KindAuthz), string(audit.KindEgress)); err != nil {
		return f, p, err
	}
	f.Kind = audit.Kind(kind)
	if f.Since, err = p.time("since"); err != nil {
		return f, p, err
	}
	if f.Until, err = p.time("until"); err != nil {
		return f, p, err
	}
	if err = window(f.Since, f.Until); err != nil {
		return f, p, err
	}
	f.Limit, err = p.intIn("limit", defaultLimit, 1, maxLimit)
	return f, p, err
}

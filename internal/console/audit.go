package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// auditLimit is how many events one audit page shows (and the live tail refreshes).
const auditLimit = 100

// auditData is the Audit page: the filter as given, and one page of events, newest first.
type auditData struct {
	Filter     auditFilter
	Events     []audit.Event
	NextCursor string
	// Query is the filter as a query string, for the live tail and the next-page link.
	Query    string
	Outcomes []string
}

type auditFilter struct{ User, VirtualServer, Connector, Tool, Outcome, Kind string }

var outcomes = []string{audit.OutcomeOK, audit.OutcomeError, audit.OutcomeToolError, audit.OutcomeDenied, audit.OutcomeUpstream, audit.OutcomeAbandoned, audit.OutcomeUnknown}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, v *view) {
	d, ok := h.auditQuery(w, r, v)
	if !ok {
		return
	}
	v.Title, v.Nav, v.Data = "Audit", "audit", d
	h.render(w, http.StatusOK, "audit", v)
}

// auditRows is the live tail: the first page's rows for the same filter, which the page's
// script polls and swaps in. Polling rather than SSE: it passes every proxy unchanged and
// needs no stream held open per admin tab.
func (h *Handler) auditRows(w http.ResponseWriter, r *http.Request, v *view) {
	d, ok := h.auditQuery(w, r, v)
	if !ok {
		return
	}
	v.Data = d
	h.render(w, http.StatusOK, "auditrows", v)
}

func (h *Handler) auditQuery(w http.ResponseWriter, r *http.Request, v *view) (*auditData, bool) {
	q := r.URL.Query()
	f := auditFilter{User: q.Get("user"), VirtualServer: q.Get("virtual_server"), Connector: q.Get("connector"),
		Tool: q.Get("tool"), Outcome: q.Get("outcome"), Kind: q.Get("kind")}
	af := audit.Filter{Subject: f.User, VirtualServer: f.VirtualServer, Connector: f.Connector, Target: f.Tool,
		Outcome: f.Outcome, Kind: audit.Kind(f.Kind), Cursor: q.Get("cursor"), Limit: auditLimit}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.QueryTimeout)
	defer cancel()
	events, next, err := h.cfg.Store.QueryAuditEvents(ctx, af)
	if err != nil {
		if q.Get("cursor") != "" {
			v.Title, v.Message = "Bad page link", "This page link is not valid any more; start again from the first page."
			h.render(w, http.StatusBadRequest, "problem", v)
			return nil, false
		}
		h.storeFailed(w, v, err)
		return nil, false
	}
	keep := url.Values{}
	for k, val := range map[string]string{"user": f.User, "virtual_server": f.VirtualServer, "connector": f.Connector, "tool": f.Tool, "outcome": f.Outcome, "kind": f.Kind} {
		if val != "" {
			keep.Set(k, val)
		}
	}
	return &auditData{Filter: f, Events: events, NextCursor: next, Query: keep.Encode(), Outcomes: outcomes}, true
}

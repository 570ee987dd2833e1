package admin

import (
	"net/http"
	"slices"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// call is what one admin request did, filled in along the way and recorded at the end.
type call struct {
	subject string
	query   string // the accepted parameters, without the cursor
	status  int
	reason  string
}

// endpoint serves an authenticated admin's request and reports what happened in c.
type endpoint func(w http.ResponseWriter, r *http.Request, c *call)

// admin authenticates (401), authorizes (403), runs the endpoint, and records the request.
// Authentication comes before any parameter is looked at, so that a caller without a token
// learns nothing about the API.
func (h *Handler) admin(method string, serve endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c := &call{status: http.StatusOK}
		defer func() { h.record(r, method, c, time.Since(start)) }()

		sub, groups, err := h.cfg.Authenticate(r)
		if err != nil || sub == "" {
			c.status, c.reason = http.StatusUnauthorized, "no valid bearer token"
			// RFC 6750 §3: error="invalid_token" only when a token was presented.
			chal := `Bearer realm="vmcp-admin"`
			if r.Header.Get("Authorization") != "" {
				chal += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", chal)
			writeError(w, c.status, "unauthorized", "", "a valid bearer token is required")
			return
		}
		c.subject = sub
		if !h.isAdmin(groups) {
			c.status, c.reason = http.StatusForbidden, "not in an admin group"
			writeError(w, c.status, "forbidden", "", "the audit API needs membership in one of audit.admin_groups")
			return
		}
		serve(w, r, c)
	})
}

func (h *Handler) isAdmin(groups []string) bool { return IsAdmin(h.cfg.AdminGroups, groups) }

// IsAdmin reports whether a caller in groups is an administrator: a member of any of
// adminGroups (audit.admin_groups). No admin groups admits nobody. The web console applies the
// same rule, through this function, so the two can never disagree.
func IsAdmin(adminGroups, groups []string) bool {
	for _, g := range groups {
		if slices.Contains(adminGroups, g) {
			return true
		}
	}
	return false
}

// record audits one admin request (see the package comment for the shape).
func (h *Handler) record(r *http.Request, method string, c *call, took time.Duration) {
	ev := audit.Event{
		Kind: audit.KindAuthz, RequestID: r.Header.Get("X-Request-Id"),
		Subject: c.subject, Method: method, Target: c.query,
		Policy: "audit.admin_groups", Reason: c.reason, LatencyMicros: took.Microseconds(),
	}
	switch {
	case c.status == http.StatusUnauthorized:
		ev.Decision, ev.Outcome = "unauthenticated", audit.OutcomeDenied
	case c.status == http.StatusForbidden:
		ev.Decision, ev.Outcome = "deny", audit.OutcomeDenied
	case c.status >= 400:
		ev.Decision, ev.Outcome = "allow", audit.OutcomeError
	default:
		ev.Decision, ev.Outcome = "allow", audit.OutcomeOK
	}
	h.cfg.Recorder.Record(ev)
}

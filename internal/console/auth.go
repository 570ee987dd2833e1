package console

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/admin"
	"github.com/vmcp-dev/vmcp/internal/audit"
)

// page serves a signed-in user's request.
type page func(w http.ResponseWriter, r *http.Request, v *view)

// view is what every page template gets: who is signed in, their CSRF token, the current
// configuration, and the page's own data.
type view struct {
	Title   string
	Nav     string
	User    *session
	Admin   bool
	CSRF    string
	Message string
	Data    any
	site    *site
}

// user admits signed-in browsers. A GET without a session is sent to sign in and brought back;
// anything else gets 401, since a form post cannot be resumed after a sign-in.
func (h *Handler) user(serve page) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		site := h.state.Load()
		s := h.session(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.render(w, http.StatusUnauthorized, "problem", &view{Title: "Sign-in required", site: site, Message: "Your console session has ended. Sign in again."})
			return
		}
		serve(w, r, &view{User: s, Admin: isAdmin(site, s.Groups), CSRF: h.sessions.csrf(s), site: site})
	}
}

// admin admits signed-in members of audit.admin_groups; others get 403 with a page saying why.
// Both are audited (see record).
func (h *Handler) admin(serve page) http.HandlerFunc {
	return h.user(func(w http.ResponseWriter, r *http.Request, v *view) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() { h.record(r, v, sw.status, time.Since(start)) }()
		w = sw
		if !v.Admin {
			h.cfg.Log.Info("console: admin page refused", zap.String("subject", v.User.Subject), zap.String("path", r.URL.Path))
			v.Title, v.Message = "Administrators only", "This page needs membership in one of the administrator groups (audit.admin_groups). You can manage your own connections under My connections."
			h.render(w, http.StatusForbidden, "problem", v)
			return
		}
		serve(w, r, v)
	})
}

// post checks the CSRF token of a form post before serving it.
func (h *Handler) post(serve page) page {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || !h.sessions.validCSRF(v.User, r.PostForm.Get("csrf")) {
			h.cfg.Log.Info("console: form refused (bad CSRF token)", zap.String("subject", v.User.Subject), zap.String("path", r.URL.Path))
			v.Title, v.Message = "Form refused", "This form did not come from your console session (or the session changed). Reload the page and try again."
			h.render(w, http.StatusForbidden, "problem", v)
			return
		}
		serve(w, r, v)
	}
}

// session returns the browser's valid session, or nil.
func (h *Handler) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s, err := h.sessions.decode(ck.Value)
	if err != nil {
		return nil
	}
	return s
}

func isAdmin(site *site, groups []string) bool { return admin.IsAdmin(site.adminGroups, groups) }

// signIn starts vmcp's login for the console; next (a console path) is where the browser
// returns. It travels in the login state, which the login provider binds to this browser.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	state := LoginPrefix + base64.RawURLEncoding.EncodeToString([]byte(next))
	if err := h.cfg.BeginLogin(w, r, state); err != nil {
		h.render(w, http.StatusServiceUnavailable, "problem", &view{Title: "Sign-in unavailable", site: h.state.Load(),
			Message: "Sign-in is not configured on this vmcp: set auth.login.oidc (or, for vmcp dev, auth.login.dev_users)."})
	}
}

// maxNext keeps the login state within the 128 characters login providers accept.
const maxNext = 90

// safeNext accepts only console paths as a place to return to, so the sign-in cannot be used
// as an open redirect ("//evil.example", "/\evil", absolute URLs).
func safeNext(next string) string {
	if len(next) > maxNext || !strings.HasPrefix(next, Prefix) || strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") {
		return Prefix
	}
	return next
}

func nextFromState(state string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(state, LoginPrefix))
	if err != nil {
		return Prefix
	}
	return safeNext(string(b))
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, v *view) {
	to := Prefix + "connections"
	if v.Admin {
		to = Prefix + "servers"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, v *view) {
	http.SetCookie(w, cookie("", h.cfg.Now(), v.site.secure))
	h.cfg.Log.Info("console: signed out", zap.String("subject", v.User.Subject))
	v.Title, v.Message, v.User, v.Admin = "Signed out", "You have signed out of the vmcp console.", nil, false
	h.render(w, http.StatusOK, "problem", v)
}

// statusWriter remembers the status a page answered with, for its audit event.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// record audits one admin page request the way the admin API audits its own: who looked at the
// audit trail, usage or configuration is itself in the trail. The live tail's polls are not
// recorded (one every two seconds per open tab would drown the trail); opening the page is.
func (h *Handler) record(r *http.Request, v *view, status int, took time.Duration) {
	if h.cfg.Recorder == nil || r.URL.Path == Prefix+"audit/rows" {
		return
	}
	ev := audit.Event{
		Kind: audit.KindAuthz, RequestID: r.Header.Get("X-Request-Id"), Subject: v.User.Subject, Email: v.User.Email,
		Method: "console/" + strings.TrimPrefix(r.URL.Path, Prefix), Target: withoutCursor(r.URL.Query()),
		Policy: "audit.admin_groups", LatencyMicros: took.Microseconds(),
	}
	switch {
	case status == http.StatusForbidden && !v.Admin:
		ev.Decision, ev.Outcome, ev.Reason = "deny", audit.OutcomeDenied, "not in an admin group"
	case status == http.StatusForbidden:
		ev.Decision, ev.Outcome, ev.Reason = "allow", audit.OutcomeDenied, "form refused (CSRF)"
	case status >= 400:
		ev.Decision, ev.Outcome = "allow", audit.OutcomeError
	default:
		ev.Decision, ev.Outcome = "allow", audit.OutcomeOK
	}
	h.cfg.Recorder.Record(ev)
}

// withoutCursor is the page's query for the audit trail: what was asked, not where in the pages.
func withoutCursor(q url.Values) string {
	q.Del("cursor")
	return q.Encode()
}

package oauth

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/vmcp-dev/vmcp/oauth/login"
)

// A hand-off lets another of vmcp's browser endpoints (the connector connect flow) sign the
// browser in with vmcp's own login — the organisation's OIDC provider or the dev users — instead
// of building a second one. The endpoint starts sign-in with a state carrying its prefix; when
// the login comes back to /oauth/callback or /oauth/login, the user and state go to the
// endpoint's handler instead of the authorization code flow.

// handoffs maps a state prefix to the handler that finishes the sign-in.
type handoffs struct {
	mu sync.RWMutex
	m  map[string]func(w http.ResponseWriter, r *http.Request, user login.User, state string)
}

// ErrNoLogin means vmcp has no way to sign users in (no OIDC provider, no dev users).
var ErrNoLogin = errors.New("sign-in is not configured on this vmcp")

// HandOff registers finish for sign-ins started by BeginLogin with states that start with prefix
// (which must end in "." and not be empty, so that it never matches a state the authorization
// code flow made: those are base64url without dots).
func (s *Server) HandOff(prefix string, finish func(w http.ResponseWriter, r *http.Request, user login.User, state string)) {
	if !strings.HasSuffix(prefix, ".") || len(prefix) < 2 {
		panic("oauth: a hand-off prefix ends in '.'") // a programming error
	}
	s.handoff.mu.Lock()
	defer s.handoff.mu.Unlock()
	if s.handoff.m == nil {
		s.handoff.m = map[string]func(http.ResponseWriter, *http.Request, login.User, string){}
	}
	s.handoff.m[prefix] = finish
}

// BeginLogin sends the browser to sign in; the user comes back to the handler registered for
// state's prefix. It writes the response, or returns ErrNoLogin having written nothing.
func (s *Server) BeginLogin(w http.ResponseWriter, r *http.Request, state string) error {
	setup := s.state.Load()
	if setup == nil || setup.provider == nil {
		return ErrNoLogin
	}
	setup.provider.Begin(w, r, state)
	return nil
}

// finishHandoff passes a completed sign-in to its hand-off handler and reports whether there
// was one.
func (s *Server) finishHandoff(w http.ResponseWriter, r *http.Request, user login.User, state string) bool {
	prefix, _, ok := strings.Cut(state, ".")
	if !ok {
		return false
	}
	s.handoff.mu.RLock()
	finish := s.handoff.m[prefix+"."]
	s.handoff.mu.RUnlock()
	if finish == nil {
		return false
	}
	finish(w, r, user, state)
	return true
}

package login

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// devProvider signs in the built-in users of `vmcp dev` with a password form, and offers the
// OIDC provider beside it when one is configured too.
//
// There is no rate limiting of password attempts yet: dev users exist only in `vmcp dev`, which
// New enforces. Add it before dev users are ever allowed anywhere else.
type devProvider struct {
	users  map[string]devUser
	dummy  []byte // compared against for unknown users, so timing does not reveal who exists
	action string
	csrf   csrf
	oidc   *oidcProvider // nil when only dev users are configured
	pages  pages
	log    *zap.Logger
}

type devUser struct {
	hash []byte
	user User
}

// maxPasswordLen is bcrypt's limit; longer input would be silently truncated by the hash, so a
// longer "password" is refused instead of matching on its first 72 bytes.
const maxPasswordLen = 72

func newDev(users []config.DevUser, base *url.URL, c csrf, idp *oidcProvider, pg pages, log *zap.Logger) (*devProvider, error) {
	d := &devProvider{
		users: make(map[string]devUser, len(users)),
		// A path, not a URL: the form posts back to the host the browser is on, which in
		// development may be localhost or 127.0.0.1 (or an alias), whichever the client used.
		action: under(base, loginPath).Path,
		csrf:   c,
		oidc:   idp,
		pages:  pg,
		log:    log,
	}
	cost := bcrypt.MinCost
	for i, u := range users {
		if u.Username == "" {
			return nil, fmt.Errorf("login: auth.login.dev_users[%d]: username is required", i)
		}
		if _, dup := d.users[u.Username]; dup {
			return nil, fmt.Errorf("login: auth.login.dev_users[%d]: duplicate user %q", i, u.Username)
		}
		c, err := bcrypt.Cost([]byte(u.PasswordHash))
		if err != nil {
			// The hash itself stays out of the message.
			return nil, fmt.Errorf("login: auth.login.dev_users[%d] (%s): password_hash is not a bcrypt hash "+
				"(vmcp hash-password prints one)", i, u.Username)
		}
		cost = max(cost, c)
		d.users[u.Username] = devUser{hash: []byte(u.PasswordHash), user: DevUser(u)}
	}
	// The dummy costs as much as the dearest real hash, so an unknown user takes as long.
	pw := make([]byte, 18)
	rand.Read(pw)
	dummy, err := bcrypt.GenerateFromPassword([]byte(base64.RawStdEncoding.EncodeToString(pw)), cost)
	if err != nil {
		return nil, fmt.Errorf("login: dummy hash: %w", err)
	}
	d.dummy = dummy
	return d, nil
}

// DevUserSubjectPrefix begins the subject of every dev user, so that a dev user can never be
// taken for an identity provider's user of the same name.
const DevUserSubjectPrefix = "dev:"

// DevUser is who a configured dev user is once signed in. `vmcp token` mints its tokens for
// dev users through it too, so that policies and the audit trail see one person, not two.
func DevUser(u config.DevUser) User {
	return User{
		Subject:  DevUserSubjectPrefix + u.Username,
		Email:    u.Email,
		Name:     u.Username,
		Groups:   append([]string(nil), u.Groups...),
		Provider: "dev",
	}
}

// FindDevUser returns the configured dev user called name ("alice" or "dev:alice").
func FindDevUser(users []config.DevUser, name string) (User, bool) {
	name = strings.TrimPrefix(name, DevUserSubjectPrefix)
	for _, u := range users {
		if u.Username == name {
			return DevUser(u), true
		}
	}
	return User{}, false
}

func (d *devProvider) Routes() []string {
	routes := []string{"POST " + loginPath}
	if d.oidc != nil {
		routes = append(routes, d.oidc.Routes()...)
	}
	return routes
}

func (d *devProvider) Begin(w http.ResponseWriter, r *http.Request, state string) {
	if !validState(state) {
		d.log.Error("login: Begin called with an invalid state (a bug in the caller)")
		d.pages.renderProblem(w, http.StatusInternalServerError, "vmcp could not start signing you in. Start again from your application.")
		return
	}
	d.render(w, r, state, "", "")
}

// render writes the form for state; with OIDC configured too, it starts an OIDC sign-in for the
// same state and links to it, so either way of signing in finishes the same authorization.
func (d *devProvider) render(w http.ResponseWriter, r *http.Request, state, username, problem string) {
	page := devPage{
		Action:   d.action,
		State:    state,
		CSRF:     d.csrf.token(state),
		Username: username,
		Error:    problem,
	}
	if d.oidc != nil {
		page.OIDC = &oidcLink{Issuer: d.oidc.issuer}
		if to, err := d.oidc.start(r.Context(), w, state); err == nil {
			page.OIDC.URL = to
		} else {
			page.OIDC.Unavailable = d.oidc.unavailable()
		}
	}
	d.pages.renderDev(w, page)
}

var errForm = &Error{Code: "access_denied", Message: "This sign-in form has expired or did not come from vmcp. " +
	"Start again from your application."}

func (d *devProvider) Complete(w http.ResponseWriter, r *http.Request) (User, string, error) {
	if r.Method != http.MethodPost {
		if d.oidc != nil && r.Method == http.MethodGet {
			return d.oidc.Complete(w, r)
		}
		return User{}, "", errNotRoute
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return User{}, "", errForm
	}
	// PostForm only: a state or password in the query string would land in access logs.
	state := r.PostForm.Get("state")
	if !validState(state) || !d.csrf.valid(state, r.PostForm.Get("csrf")) {
		d.log.Info("login: dev sign-in form refused (bad or expired CSRF token)")
		return User{}, "", errForm
	}
	username := r.PostForm.Get("username")
	u, ok := d.check(username, r.PostForm.Get("password"))
	if !ok {
		d.log.Info("login: dev sign-in refused", zap.String("username", truncate(username, 64)))
		d.render(w, r, state, username, "Wrong username or password.")
		return User{}, state, ErrShown
	}
	d.log.Info("login: user signed in", zap.String("provider", "dev"), zap.String("subject", u.Subject))
	return u, state, nil
}

// check runs exactly one bcrypt comparison whether or not the user exists.
func (d *devProvider) check(username, password string) (User, bool) {
	du, found := d.users[username]
	hash := d.dummy
	if found {
		hash = du.hash
	}
	pw := []byte(password)
	if len(pw) > maxPasswordLen {
		pw, found = pw[:maxPasswordLen], false
	}
	if bcrypt.CompareHashAndPassword(hash, pw) != nil || !found {
		return User{}, false
	}
	u := du.user
	u.Groups = append([]string(nil), du.user.Groups...)
	return u, true
}

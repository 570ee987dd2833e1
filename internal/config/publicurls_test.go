package config

import (
	"slices"
	"testing"
)

func TestPublicURLsListTheCanonicalURLFirstThenAliasesThenLoopbackTwins(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
		issuers    []string
	}{
		{"dev on 127.0.0.1 also answers on localhost", `{}`,
			[]string{"http://127.0.0.1:8080", "http://localhost:8080"},
			[]string{"http://127.0.0.1:8080", "http://localhost:8080"}},
		{"an edge on every address also answers on [::1]", `server: {public_url: "http://localhost:8080", envoy: {edge: "[::]:8080"}}`,
			[]string{"http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"},
			[]string{"http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"}},
		{"a public host has only its configured aliases", `server: {public_url: "https://mcp.example.com", public_url_aliases: ["https://mcp.corp.example.com/"]}`,
			[]string{"https://mcp.example.com", "https://mcp.corp.example.com"},
			[]string{"https://mcp.example.com", "https://mcp.corp.example.com"}},
		{"a separate issuer is one issuer", `{server: {public_url: "https://mcp.example.com", public_url_aliases: ["https://b.example.com"]}, auth: {issuer: "https://login.example.com"}}`,
			[]string{"https://mcp.example.com", "https://b.example.com"},
			[]string{"https://login.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load("vmcp.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.PublicURLs(); !slices.Equal(got, tc.want) {
				t.Errorf("PublicURLs = %v, want %v", got, tc.want)
			}
			if got := cfg.Issuers(); !slices.Equal(got, tc.issuers) {
				t.Errorf("Issuers = %v, want %v", got, tc.issuers)
			}
		})
	}
}

func TestAPublicURLAliasMustBeABaseURL(t *testing.T) {
	for _, alias := range []string{"ftp://x.example.com", "https://x.example.com/mcp", "http://127.0.0.1:8080"} {
		if _, err := Load("vmcp.yaml", []byte(`server: {public_url_aliases: ["`+alias+`"]}`)); err == nil {
			t.Errorf("alias %q was accepted", alias)
		}
	}
}

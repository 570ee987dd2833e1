package clientmeta

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateClientIDAcceptsIdentifierURLs(t *testing.T) {
	for _, tc := range []struct{ name, id string }{
		{"a plain https URL with a path", "https://app.example.com/oauth/client-metadata.json"},
		{"a URL with a port", "https://app.example.com:8443/client.json"},
		{"a URL on an IPv4 literal", "https://203.0.113.7/client"},
		{"a URL on an IPv6 literal", "https://[2001:db8::1]:443/client"},
		{"a URL with a trailing slash on its path", "https://example.com/clients/"},
		{"a URL with percent-encoding net/url keeps", "https://example.com/a%20b/c%7Ed"},
		{"a URL with dots inside a segment", "https://example.com/.well-known/..client/v1.2"},
		{"a URL with an empty segment", "https://example.com//client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateClientID(tc.id); err != nil {
				t.Fatalf("ValidateClientID(%q) = %v, want nil", tc.id, err)
			}
		})
	}
}

func TestValidateClientIDRefuses(t *testing.T) {
	for _, tc := range []struct{ name, id, want string }{
		{"an empty client_id", "", "empty"},
		{"an http URL", "http://app.example.com/client.json", "https://"},
		{"an upper-case scheme", "HTTPS://app.example.com/client.json", "https://"},
		{"a URL without a path", "https://app.example.com", "path"},
		{"a URL whose path is only a slash", "https://app.example.com/", "path"},
		{"a fragment", "https://app.example.com/client.json#x", "fragment"},
		{"an empty fragment", "https://app.example.com/client.json#", "fragment"},
		{"a query", "https://app.example.com/client.json?v=1", "query"},
		{"an empty query", "https://app.example.com/client.json?", "query"},
		{"a username", "https://user@app.example.com/client.json", "username"},
		{"a username and password", "https://user:pw@app.example.com/client.json", "username"},
		{"a single-dot segment", "https://app.example.com/./client.json", "segments"},
		{"a double-dot segment", "https://app.example.com/a/../client.json", "segments"},
		{"a trailing double-dot segment", "https://app.example.com/a/..", "segments"},
		{"a percent-encoded double-dot segment", "https://app.example.com/a/%2e%2E/client.json", "segments"},
		{"a percent-encoded single-dot segment", "https://app.example.com/%2E/client.json", "segments"},
		{"a bad percent-encoding", "https://app.example.com/a%zz", "not a URL"},
		{"a backslash", `https://app.example.com\@evil.example/client.json`, "backslash"},
		{"a space", "https://app.example.com/my client.json", "space"},
		{"a control character", "https://app.example.com/client\x00.json", "control"},
		{"a non-ASCII character", "https://app.example.com/clïent.json", "non-ASCII"},
		{"no host", "https:///client.json", "host"},
		{"an opaque https URI", "https:client.json", "https://"},
		{"port zero", "https://app.example.com:0/client.json", "port"},
		{"a port out of range", "https://app.example.com:70000/client.json", "port"},
		{"characters RFC 3986 does not allow unencoded", "https://app.example.com/a<b>", "canonical"},
		{"an over-long URL", "https://app.example.com/" + strings.Repeat("a", MaxURLLength), "longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateClientID(tc.id)
			if !errors.Is(err, ErrInvalidClientID) {
				t.Fatalf("ValidateClientID(%q) = %v, want ErrInvalidClientID", tc.id, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestValidateClientIDQuotesAtMostABoundedPrefix(t *testing.T) {
	err := ValidateClientID("http://" + strings.Repeat("é", 5000))
	if err == nil || len(err.Error()) > 400 {
		t.Fatalf("error is %d bytes: %v", len(err.Error()), err)
	}
}

func TestIsURLClientIDTellsURLsFromRegisteredIDs(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"https://app.example.com/client.json", true},
		{"HTTPS://app.example.com/client.json", true},
		{"http://app.example.com/client.json", true}, // URL-shaped: Fetch explains why it is refused
		{"https://", true},
		{"vmcp_3f9a1c0e7b", false},
		{"", false},
		{"https:/app.example.com", false},
		{"ftp://app.example.com/client.json", false},
		{"urn:example:client", false},
	} {
		if got := IsURLClientID(tc.id); got != tc.want {
			t.Errorf("IsURLClientID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

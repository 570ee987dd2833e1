package clientmeta

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzDocument checks that ParseDocument never panics, fails only with ErrInvalidDocument and
// without quoting the body, and that whatever it accepts keeps the rules that matter for
// security. Seeds: testdata/fuzz/FuzzDocument.
func FuzzDocument(f *testing.F) {
	f.Fuzz(func(t *testing.T, clientID string, body []byte) {
		d, err := ParseDocument(clientID, body)
		if err != nil {
			if !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("error %v is not ErrInvalidDocument", err)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("error is %d bytes long", len(err.Error()))
			}
			return
		}
		if d.ClientID != clientID {
			t.Fatalf("accepted client_id %q for URL %q", d.ClientID, clientID)
		}
		if d.ClientName == "" || len(d.RedirectURIs) == 0 {
			t.Fatalf("accepted a document without client_name or redirect_uris: %+v", d)
		}
		if d.TokenEndpointAuthMethod != "" && d.TokenEndpointAuthMethod != "none" {
			t.Fatalf("accepted token_endpoint_auth_method %q", d.TokenEndpointAuthMethod)
		}
		for _, r := range d.RedirectURIs {
			if strings.Contains(r, "#") || !(strings.HasPrefix(r, "https://") || strings.HasPrefix(r, "http://")) {
				t.Fatalf("accepted redirect URI %q", r)
			}
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("accepted a body encoding/json cannot read as an object: %v", err)
		}
		for k := range members {
			if strings.EqualFold(k, "client_secret") || strings.EqualFold(k, "client_secret_expires_at") {
				t.Fatalf("accepted a document with member %q", k)
			}
		}
		for _, g := range d.GrantTypes {
			if !slices.Contains(allowedGrantTypes, g) {
				t.Fatalf("accepted grant type %q", g)
			}
		}
	})
}

// FuzzClientID checks that ValidateClientID never panics and that what it accepts has none of
// the forbidden parts. Seeds: testdata/fuzz/FuzzClientID.
func FuzzClientID(f *testing.F) {
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateClientID(id)
		if err != nil {
			if !errors.Is(err, ErrInvalidClientID) {
				t.Fatalf("error %v is not ErrInvalidClientID", err)
			}
			return
		}
		if !strings.HasPrefix(id, "https://") || len(id) > MaxURLLength {
			t.Fatalf("accepted %q", id)
		}
		if strings.ContainsAny(id, "#?\\ ") {
			t.Fatalf("accepted %q with a fragment, query, backslash or space", id)
		}
		rest := id[len("https://"):]
		slash := strings.IndexByte(rest, '/')
		if slash < 0 || rest[slash:] == "/" {
			t.Fatalf("accepted %q without a path", id)
		}
		if strings.Contains(rest[:slash], "@") {
			t.Fatalf("accepted %q with user information", id)
		}
		for _, seg := range strings.Split(rest[slash:], "/") {
			if seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") {
				t.Fatalf("accepted %q with a dot segment", id)
			}
		}
		if !IsURLClientID(id) {
			t.Fatalf("IsURLClientID(%q) is false for a valid client_id", id)
		}
	})
}

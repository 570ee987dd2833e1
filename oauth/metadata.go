// Package oauth is vmcp's OAuth side: the metadata documents MCP clients discover it through and,
// as it grows, the authorization server that signs users in through the organisation's IdP.
package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// ProtectedResourcePrefix is the RFC 9728 well-known path; a virtual server's document lives at
// this prefix followed by its path, so virtual servers on one host never collide.
const ProtectedResourcePrefix = "/.well-known/oauth-protected-resource"

// ProtectedResource is an RFC 9728 protected resource metadata document.
type ProtectedResource struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
}

// Metadata serves the protected resource metadata of every virtual server, without a token: it
// is how a client learns where to get one.
type Metadata struct {
	docs atomic.Pointer[metadataDocs]
}

// metadataDocs holds the documents by path, one set per public URL host: RFC 9728 §3.3 has the
// client refuse a document whose resource is not the URL it used, so a client on localhost
// (or an alias) gets the document in that spelling. An unknown host gets the canonical set.
type metadataDocs struct {
	byHost    map[string]map[string][]byte
	canonical map[string][]byte
}

// Prepare builds every document for cfg; the returned commit serves them.
func (m *Metadata) Prepare(cfg *config.Config) (func(), error) {
	all := &metadataDocs{byHost: map[string]map[string][]byte{}}
	for _, base := range cfg.PublicURLs() {
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		host := strings.ToLower(u.Host)
		if all.byHost[host] != nil {
			continue
		}
		docs, err := metadataFor(cfg, base)
		if err != nil {
			return nil, err
		}
		all.byHost[host] = docs
		if all.canonical == nil {
			all.canonical = docs
		}
	}
	return func() { m.docs.Store(all) }, nil
}

// metadataFor builds every virtual server's document as seen from base: the resource in that
// spelling, and vmcp's own authorization server under the issuer a client on base checks.
func metadataFor(cfg *config.Config, base string) (map[string][]byte, error) {
	docs := make(map[string][]byte, len(cfg.VirtualServers)+1)
	issuer := strings.TrimSuffix(cfg.Auth.Issuer, "/")
	if slices.Contains(cfg.Issuers(), base) {
		issuer = base
	}
	issuers := []string{issuer}
	for _, ti := range cfg.Auth.TrustedIssuers {
		issuers = append(issuers, ti.Issuer)
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		b, err := json.Marshal(ProtectedResource{
			Resource:               base + vs.Path,
			AuthorizationServers:   issuers,
			BearerMethodsSupported: []string{"header"},
			ResourceName:           "vmcp virtual server " + vs.Name,
		})
		if err != nil {
			return nil, err
		}
		docs[ProtectedResourcePrefix+vs.Path] = b
		if len(cfg.VirtualServers) == 1 {
			// With a single virtual server, clients that try the bare well-known URL find it too.
			docs[ProtectedResourcePrefix] = b
		}
	}
	return docs, nil
}

func (m *Metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	docs := m.docs.Load()
	if docs == nil {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the protected resource metadata is not configured yet")
		return
	}
	set, ok := docs.byHost[strings.ToLower(r.Host)]
	if !ok {
		set = docs.canonical
	}
	doc, ok := set[strings.TrimSuffix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Browser-based MCP clients fetch metadata cross-origin; the documents are public.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(doc)
}

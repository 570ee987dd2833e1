package oauth

import (
	"encoding/json"
	"net/http"
)

// Scope is the one scope vmcp grants: access to the virtual server named by the resource.
const Scope = "mcp"

// buildMetadata renders the RFC 8414 document of issuer once per configuration. The same document is
// served on the OpenID discovery path too, which MCP clients also try (MCP 2025-11-25
// authorization, "Authorization Server Metadata Discovery").
func buildMetadata(setup *setup, issuer string) (oauthDoc, openIDDoc []byte, err error) {
	doc := map[string]any{
		"issuer":                                         issuer,
		"authorization_endpoint":                         issuer + "/oauth/authorize",
		"token_endpoint":                                 issuer + "/oauth/token",
		"revocation_endpoint":                            issuer + "/oauth/revoke",
		"jwks_uri":                                       issuer + "/oauth/jwks",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"none", "client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":     []string{"none", "client_secret_basic", "client_secret_post"},
		"scopes_supported":                               []string{Scope},
		"authorization_response_iss_parameter_supported": true,
		"client_id_metadata_document_supported":          setup.metadataDocs,
	}
	if setup.dynamic {
		doc["registration_endpoint"] = issuer + "/oauth/register"
	}
	if oauthDoc, err = json.Marshal(doc); err != nil {
		return nil, nil, err
	}
	// OpenID discovery parsers insist on these fields; vmcp issues no ID tokens, but the values
	// are true of its access tokens.
	doc["subject_types_supported"] = []string{"public"}
	doc["id_token_signing_alg_values_supported"] = []string{"ES256"}
	openIDDoc, err = json.Marshal(doc)
	return oauthDoc, openIDDoc, err
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	setup := s.current(w)
	if setup == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	v := setup.viewFor(r)
	if r.URL.Path == "/.well-known/openid-configuration" {
		w.Write(v.openIDMetadata)
		return
	}
	w.Write(v.metadata)
}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	b, err := json.Marshal(s.keys.PublicSet())
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "the key set is unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
}

package oauth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// maxRegistrationBody bounds a registration request.
const maxRegistrationBody = 64 << 10

// registration is the client metadata of RFC 7591 §2 that vmcp understands and stores.
type registration struct {
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	SoftwareID              string   `json:"software_id,omitempty"`
	SoftwareVersion         string   `json:"software_version,omitempty"`
}

// register is RFC 7591 dynamic client registration.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	setup := s.current(w)
	if setup == nil {
		return
	}
	if !setup.dynamic {
		oauthError(w, http.StatusForbidden, "access_denied", "dynamic client registration is disabled on this server")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRegistrationBody+1))
	if err != nil || len(body) > maxRegistrationBody {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "registration request is missing or too large")
		return
	}
	// Duplicate keys would let two parsers disagree on the redirect URIs.
	if err := jsonrpc.CheckStrict(body); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "registration request is not valid JSON: "+err.Error())
		return
	}
	var reg registration
	if err := json.Unmarshal(body, &reg); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "registration request has fields of the wrong type")
		return
	}
	if len(reg.RedirectURIs) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris is required")
		return
	}
	for _, u := range reg.RedirectURIs {
		if err := config.CheckRedirectURI(u); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_redirect_uri", err.Error())
			return
		}
	}
	if len(reg.GrantTypes) == 0 {
		reg.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	for _, g := range reg.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "unsupported grant type "+g)
			return
		}
	}
	if len(reg.ResponseTypes) == 0 {
		reg.ResponseTypes = []string{"code"}
	}
	if !slices.Equal(reg.ResponseTypes, []string{"code"}) {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "only the code response type is supported")
		return
	}
	var secret string
	switch reg.TokenEndpointAuthMethod {
	case "", "none":
		reg.TokenEndpointAuthMethod = "none"
	case "client_secret_basic", "client_secret_post":
		secret = randomToken()
	default:
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "unsupported token_endpoint_auth_method")
		return
	}
	id := "vmcp-" + randomToken()[:24]
	meta, _ := json.Marshal(reg)
	var secretHash []byte
	if secret != "" {
		secretHash = hashSecret(secret)
	}
	if err := s.store.PutClient(r.Context(), id, meta, secretHash); err != nil {
		s.log.Error("oauth: register client", zap.Error(err))
		oauthError(w, http.StatusInternalServerError, "server_error", "could not register the client")
		return
	}
	s.log.Info("oauth: client registered", zap.String("client_id", id), zap.String("client_name", reg.ClientName))
	resp := map[string]any{}
	json.Unmarshal(meta, &resp)
	resp["client_id"] = id
	resp["client_id_issued_at"] = time.Now().Unix()
	if secret != "" {
		resp["client_secret"] = secret
		resp["client_secret_expires_at"] = 0
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(resp)
}

// randomToken is 256 bits of randomness, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS has no randomness; nothing is safe
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

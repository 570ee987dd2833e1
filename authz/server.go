package authz

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// MetadataNamespace is where Envoy files the dynamic metadata of an ext_authz answer; extproc
// reads the caller's identity from it.
const MetadataNamespace = "envoy.filters.http.ext_authz"

// Server implements envoy.service.auth.v3.Authorization.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	state  atomic.Pointer[compiled]
	keys   jwk.Set
	signer *identity.Signer
	log    *zap.Logger
}

// NewServer returns an authz server verifying tokens against keys and signing identities with
// signer. It denies everything until the first configuration is committed.
func NewServer(keys jwk.Set, signer *identity.Signer, log *zap.Logger) *Server {
	return &Server{keys: keys, signer: signer, log: log}
}

// Prepare compiles cfg; the returned commit swaps it in.
func (s *Server) Prepare(cfg *config.Config) (func(), error) {
	c := compile(cfg, s.keys)
	return func() { s.state.Store(c) }, nil
}

// Check decides one request: decode → verify → respond.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	st := s.state.Load()
	httpReq := req.GetAttributes().GetRequest().GetHttp()
	if st == nil || httpReq == nil {
		return denied(http.StatusServiceUnavailable, "", "vmcp is not configured yet"), nil
	}
	path, _, _ := strings.Cut(httpReq.GetPath(), "?")
	vs := st.byPath[path]
	if vs == nil {
		return denied(http.StatusNotFound, "", "no virtual MCP server at this path"), nil
	}
	hdrs := httpReq.GetHeaders()
	token, ok := bearerToken(hdrs[headers.Authorization])
	if !ok {
		s.log.Debug("authz: no bearer token", zap.String("vs", vs.name))
		return denied(http.StatusUnauthorized, vs.challenge, "authorization required"), nil
	}
	claims, err := st.verifier.Verify(token, vs.resource)
	if err != nil {
		reason := strings.TrimPrefix(err.Error(), tokens.ErrInvalidToken.Error()+": ")
		s.log.Info("authz: token rejected", zap.String("vs", vs.name), zap.String("reason", reason))
		return denied(http.StatusUnauthorized, vs.invalidPrefix+reason+`"`, reason), nil
	}
	id := identity.Identity{
		Subject:       claims.Subject,
		Email:         claims.Email,
		Groups:        claims.Groups,
		ClientID:      claims.ClientID,
		VirtualServer: vs.name,
		Expiry:        claims.Expiry.Unix(),
	}
	signed, err := s.signer.Sign(id)
	if err != nil {
		s.log.Error("authz: sign identity", zap.Error(err))
		return denied(http.StatusInternalServerError, "", "internal error"), nil
	}
	s.log.Debug("authz: allowed", zap.String("vs", vs.name), zap.String("sub", id.Subject))
	return allowed(id, signed, hdrs), nil
}

// bearerToken extracts the token of an "Authorization: Bearer …" value (scheme case-insensitive,
// RFC 6750 §2.1).
func bearerToken(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func denied(status int, challenge, message string) *authv3.CheckResponse {
	body := `{"error":"` + errorCode(status) + `","error_description":"` + message + `"}`
	resp := &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode(status)},
		Body:   body,
		Headers: []*corev3.HeaderValueOption{
			header("content-type", "application/json"),
		},
	}
	if challenge != "" {
		resp.Headers = append(resp.Headers, header("www-authenticate", challenge))
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(code.Code_PERMISSION_DENIED)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: resp},
	}
}

func errorCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "invalid_token"
	case http.StatusForbidden:
		return "insufficient_scope"
	case http.StatusNotFound:
		return "not_found"
	default:
		return "server_error"
	}
}

// allowed strips the client's credential and any client-sent internal header, and hands the
// verified identity on: as dynamic metadata for extproc, as a signed header for the aggregator.
func allowed(id identity.Identity, signed string, in map[string]string) *authv3.CheckResponse {
	remove := []string{headers.Authorization}
	for name := range in {
		if headers.IsInternal(name) {
			remove = append(remove, name)
		}
	}
	groups := make([]any, len(id.Groups))
	for i, g := range id.Groups {
		groups[i] = g
	}
	meta, _ := structpb.NewStruct(map[string]any{
		"sub":       id.Subject,
		"email":     id.Email,
		"groups":    groups,
		"client_id": id.ClientID,
		"vs":        id.VirtualServer,
		"identity":  signed,
	})
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code.Code_OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers:         []*corev3.HeaderValueOption{header(headers.Identity, signed)},
			HeadersToRemove: remove,
		}},
		DynamicMetadata: meta,
	}
}

func header(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: k, Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

package authz

import (
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// SubjectTokenField is the dynamic metadata field that carries the caller's own access token,
// from a trusted issuer, to extproc for RFC 8693 token exchange. Dynamic metadata stays inside
// Envoy and its filters: it never reaches a connector (the Authorization header itself is
// removed), and no access log format of ours prints it.
const SubjectTokenField = "subject_token"

// passSubjectTokenOn adds the caller's token to an allow answer when it came from a trusted
// issuer and some connector exchanges tokens.
func (c *compiled) passSubjectTokenOn(resp *authv3.CheckResponse, v verified, token string) {
	if !c.passSubjectToken || v.issuer.remote == nil || resp.GetOkResponse() == nil {
		return
	}
	resp.DynamicMetadata = &structpb.Struct{Fields: map[string]*structpb.Value{SubjectTokenField: structpb.NewStringValue(token)}}
}

// exchangesTokens reports whether a connector uses token exchange: only then is the caller's
// IdP token passed on at all.
func exchangesTokens(cfg *config.Config) bool {
	for _, c := range cfg.Connectors {
		if c.Credential.Type == config.CredentialTokenExchange {
			return true
		}
	}
	return false
}

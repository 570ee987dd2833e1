package authz

import (
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

// passSubjectTokenOn adds the caller's token to an allow answer when it came from a trusted
// issuer and some connector exchanges tokens.
func (gate *gate) passSubjectTokenOn(resp *authv3.CheckResponse, v verified, token string) {
	if !gate.passSubjectToken || v.issuer.remote == nil || resp.GetOkResponse() == nil {
		return
	}
	if resp.DynamicMetadata == nil {
		resp.DynamicMetadata = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	resp.DynamicMetadata.Fields[headers.SubjectTokenMetadata] = structpb.NewStringValue(token)
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

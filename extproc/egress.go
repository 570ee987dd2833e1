package extproc

import (
	"context"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
)

// egressExchange handles one aggregator→connector request on the egress listener: it attaches
// that connector's credential, so fan-out and routed calls authenticate the same way and the
// aggregator never holds connector secrets.
type egressExchange struct {
	state  *compiled
	users  UserCredentials
	signer *identity.Signer
	ctx    context.Context
	log    *zap.Logger
}

func (e *egressExchange) handle(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	rh := req.GetRequestHeaders()
	if rh == nil {
		// The bootstrap asks only for request headers on egress; answer anything else neutrally.
		return continueRequestBody()
	}
	name := headerValue(rh.GetHeaders(), headers.Connector)
	c := e.state.connectors[name]
	if c == nil {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
			ImmediateResponse: &extprocv3.ImmediateResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode_NotFound}, Body: []byte("unknown connector\n")},
		}}
	}
	set, remove := credentialMutation(c)
	if c.perUser {
		set, remove = e.egressUserCredential(c, rh)
	}
	if c.query != nil {
		set = append(set, setHeader(":path", credential.WithQueryParam(headerValue(rh.GetHeaders(), ":path"), *c.query)))
	}
	// The aggregator builds these requests itself, but the allow-list holds here too: whatever
	// Go's client or a later change adds (Accept-Encoding, say) reaches no connector unless listed.
	remove = withoutUnforwarded(rh.GetHeaders().GetHeaders(), set, remove)
	return continueRequestHeaders(&extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: remove})
}

// credentialMutation sets the connector's credential headers and removes any Authorization the
// credential does not itself set, so no other token can ride along.
func credentialMutation(c *connector) (set []*corev3.HeaderValueOption, remove []string) {
	return headerMutation(c.credential)
}

// headerMutation sets credential headers and removes any Authorization they do not set.
func headerMutation(hs []credential.Header) (set []*corev3.HeaderValueOption, remove []string) {
	setsAuthorization := false
	set = make([]*corev3.HeaderValueOption, 0, len(hs)+2)
	for _, h := range hs {
		set = append(set, setHeader(h.Name, h.Value))
		setsAuthorization = setsAuthorization || h.Name == headers.Authorization
	}
	if !setsAuthorization {
		remove = append(remove, headers.Authorization)
	}
	return set, remove
}

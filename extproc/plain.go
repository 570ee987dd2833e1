package extproc

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// A routed call on a connector's plain route (the one authz's route hint picked) reaches extproc
// as one message: its body. The request headers extproc needs come with it as ext_authz's
// dynamic metadata (headers.RequestHeadersMetadata), and the exchange starts from them exactly
// as it would from a headers message.

// headersFromMetadata rebuilds the request headers authz passed on, or nil when it passed none
// (a route that sends the headers message itself).
func headersFromMetadata(req *extprocv3.ProcessingRequest) *extprocv3.HttpHeaders {
	md := req.GetMetadataContext().GetFilterMetadata()[envoynames.FilterExtAuthz]
	hv, ok := md.GetFields()[headers.RequestHeadersMetadata]
	if !ok {
		return nil
	}
	var list []*corev3.HeaderValue
	headers.DecodeList(hv.GetStringValue(), func(name, value string) {
		list = append(list, &corev3.HeaderValue{Key: name, RawValue: []byte(value)})
	})
	return &extprocv3.HttpHeaders{Headers: &corev3.HeaderMap{Headers: list}}
}

// plainRewrite is rewriteRequestBody on a plain route: the body is replaced in the answer, and
// the headers the route manages (envoynames.PlainRouteHeaders) are given as dynamic metadata:
// the client's own value where it may reach the connector, vmcp's where it sets one (set), none
// where it removes the header (remove). Any other change to the headers cannot be made here, so
// a request that needs one is refused rather than sent without it.
func (e *edgeExchange) plainRewrite(msg *jsonrpc.Message, c *connector, body []byte, set []*corev3.HeaderValueOption, remove []string) *extprocv3.ProcessingResponse {
	fields := make(map[string]*structpb.Value, len(c.plainHeaders))
	for _, h := range e.clientHeaders {
		if k := h.GetKey(); c.plainHeaders[k] && headers.ForwardedToConnector(k) {
			fields[k] = structpb.NewStringValue(string(h.GetRawValue()))
		}
	}
	for _, r := range remove {
		r = strings.ToLower(r)
		if !c.plainHeaders[r] {
			if e.clientSent(r) {
				return e.routedInconsistently(msg.ID, "a plain route cannot remove "+r)
			}
			continue // not sent (authz removed what must not reach a connector)
		}
		delete(fields, r)
	}
	for _, h := range set {
		k := strings.ToLower(h.GetHeader().GetKey())
		if k == headers.Connector {
			continue // the route tag: authz's hint already chose this route
		}
		if !c.plainHeaders[k] {
			return e.routedInconsistently(msg.ID, "a plain route cannot set "+k)
		}
		fields[k] = structpb.NewStringValue(string(h.GetHeader().GetRawValue()))
	}
	fields["content-length"] = structpb.NewStringValue(strconv.Itoa(len(body)))
	if e.direct {
		directFields(fields, e.rpcID, c.name)
		e.parkForOutcome(c)
	}
	return &extprocv3.ProcessingResponse{
		Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
			Status:       extprocv3.CommonResponse_CONTINUE_AND_REPLACE,
			BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}},
		}}},
		DynamicMetadata: &structpb.Struct{Fields: map[string]*structpb.Value{
			envoynames.RouteMetadata: structpb.NewStructValue(&structpb.Struct{Fields: fields}),
		}},
	}
}

// clientSent says whether the request carried header name (lower case).
func (e *edgeExchange) clientSent(name string) bool {
	for _, h := range e.clientHeaders {
		if h.GetKey() == name {
			return true
		}
	}
	return false
}

// routedInconsistently refuses a request that authz's hint put on a connector's plain route when
// extproc's own decision cannot go there: another connector, the aggregator, or a header change
// the route cannot make. It fails closed; why says which, for the log.
func (e *edgeExchange) routedInconsistently(id json.RawMessage, why string) *extprocv3.ProcessingResponse {
	e.log.Error("extproc: refused a request authz's route hint sent to the wrong route", zap.String("hint", e.hinted), zap.String("why", why))
	e.routed = nil
	return e.refuse(http.StatusOK, id, jsonrpc.Errorf(jsonrpc.CodeInternalError, "request routed inconsistently; retry"), audit.OutcomeError)
}

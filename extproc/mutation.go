package extproc

import (
	"encoding/json"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// headerValue reads a header from Envoy's map. Envoy sends values in raw_value.
func headerValue(m *corev3.HeaderMap, name string) string {
	for _, h := range m.GetHeaders() {
		if h.GetKey() == name {
			if rv := h.GetRawValue(); rv != nil {
				return string(rv)
			}
			return h.GetValue()
		}
	}
	return ""
}

// setHeader builds a header mutation entry; values go in raw_value only (setting both value and
// raw_value is rejected by Envoy).
func setHeader(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: name, RawValue: []byte(value)},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

func continueRequestHeaders(mut *extprocv3.HeaderMutation) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
		RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{HeaderMutation: mut}},
	}}
}

func continueRequestBody() *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{}},
	}}
}

func continueResponseHeaders(mut *extprocv3.HeaderMutation) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{
		ResponseHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{HeaderMutation: mut}},
	}}
}

// rewriteRequestBody replaces the body and sets headers. In BUFFERED mode with headers already
// sent, Envoy requires a content-length matching the new body, and header mutations in a body
// response apply only in this mode.
func rewriteRequestBody(body []byte, set []*corev3.HeaderValueOption, remove []string) *extprocv3.ProcessingResponse {
	set = append(set, setHeader("content-length", strconv.Itoa(len(body))))
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
			Status:          extprocv3.CommonResponse_CONTINUE_AND_REPLACE,
			HeaderMutation:  &extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: remove},
			BodyMutation:    &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}},
			ClearRouteCache: true,
		}},
	}}
}

// rpcError answers the client directly with a JSON-RPC error. MCP carries JSON-RPC errors in an
// HTTP 200 unless the transport spec names a status (400/404 for session problems).
func rpcError(httpStatus int, id json.RawMessage, e *jsonrpc.Error) *extprocv3.ProcessingResponse {
	return jsonReply(httpStatus, jsonrpc.ErrorResponse(id, e), "vmcp_jsonrpc_error")
}

// jsonReply answers the client directly with a JSON body; details names the answer in Envoy's
// response code details (access logs, stats).
func jsonReply(httpStatus int, body []byte, details string) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(httpStatus)},
			Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{setHeader("content-type", "application/json")}},
			Body:    body,
			Details: details,
		},
	}}
}

package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// A routed call's answer that no MCP client can read — Envoy's own text reply when the
// connector is down or slower than its call timeout, or a connector answering something other
// than JSON-RPC — would break the client's whole session (the go-sdk client closes it on an
// undecodable answer). Only that call should fail, with an error that says why: these
// functions turn such answers into a JSON-RPC error for the call.

// placeWait bounds how long placing a call may wait on connectors in the request phase: for
// their lists (the name index) or for a connector session kept for a sessionless client. It stays
// under the bootstrap's ext_proc message_timeout (2 s): past that Envoy answers the client a bare
// 504 instead of vmcp's JSON-RPC error, which is how a connector that never answers made its calls
// end (found by e2e TestAConnectorThatIsDownStalledBrokenOrSlowFailsOnlyItsOwnTools). A connector
// slower than this is left out for that call, as it is from a tools/list.
const placeWait = 1500 * time.Millisecond

// placing bounds what placing this request waits on connectors, every wait together (a
// connector's list for its name, then a kept connector session): one deadline for the whole step,
// so that the sum stays under the message timeout too.
func (e *edgeExchange) placing() (context.Context, context.CancelFunc) {
	if e.placeBy.IsZero() {
		e.placeBy = time.Now().Add(placeWait)
	}
	return context.WithDeadline(e.ctx, e.placeBy)
}

// mediaType is a Content-Type value's media type, lower-cased and without parameters.
func mediaType(contentType string) string {
	ct, _, _ := strings.Cut(contentType, ";")
	return strings.TrimSpace(strings.ToLower(ct))
}

// mcpAnswer says whether media type ct is one MCP answers in (JSON, or an SSE stream).
func mcpAnswer(ct string) bool { return ct == "application/json" || ct == "text/event-stream" }

// connectorFault is the JSON-RPC error for a routed call's answer with HTTP status and
// (lower-cased, parameter-free) content type ct, or nil when the answer can stand.
func connectorFault(connector string, status int, ct string) *jsonrpc.Error {
	readable := mcpAnswer(ct)
	switch {
	case status == http.StatusGatewayTimeout && !readable:
		return jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q did not answer within its call timeout", connector)
	case status >= 500 && !readable:
		return jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q is unavailable (HTTP %d)", connector, status)
	case status >= 200 && status <= 299 && !readable:
		return jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q answered %q, not an MCP message", connector, ct)
	}
	return nil
}

// failRoutedCall answers the client with err instead of the connector's answer and records the
// call as an upstream failure.
func (e *edgeExchange) failRoutedCall(err *jsonrpc.Error) *extprocv3.ProcessingResponse {
	e.event.Outcome, e.event.ErrorCode = audit.OutcomeUpstream, err.Code
	e.record()
	return rpcError(http.StatusOK, json.RawMessage(e.clientFacingID()), err)
}

// garbledJSON reports whether the first bytes of a JSON answer show it is not a JSON-RPC
// message, which is always an object. Checked on the first chunk, as the answer streams.
func garbledJSON(chunk []byte) bool {
	trimmed := bytes.TrimLeft(chunk, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] != '{'
}

// replaceGarbledBody sends err in place of the first chunk of a garbled answer; drop tells
// Envoy to send nothing of each later chunk.
func replaceGarbledBody(id string, err *jsonrpc.Error) *extprocv3.ProcessingResponse {
	return bodyMutation(&extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: jsonrpc.ErrorResponse(json.RawMessage(id), err)}})
}

func dropBody() *extprocv3.ProcessingResponse {
	return bodyMutation(&extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}})
}

func bodyMutation(m *extprocv3.BodyMutation) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
		ResponseBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: m}},
	}}
}

// garbledError is the error a client gets for a connector's answer that is not JSON-RPC.
func garbledError(connector string) *jsonrpc.Error {
	return jsonrpc.Errorf(jsonrpc.CodeInternalError, "connector %q answered with something that is not a JSON-RPC message", connector)
}

// checkGarbled replaces a routed JSON answer that is not JSON-RPC, judged by its first bytes, and
// everything after them; nil lets the chunk through.
func (e *edgeExchange) checkGarbled(b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if e.garbled {
		return dropBody()
	}
	if e.jsonChecked || len(bytes.TrimLeft(b.GetBody(), " \t\r\n")) == 0 {
		return nil
	}
	e.jsonChecked = true
	if !garbledJSON(b.GetBody()) {
		return nil
	}
	e.garbled = true
	err := garbledError(e.routed.name)
	e.event.Outcome, e.event.ErrorCode = audit.OutcomeUpstream, err.Code
	e.record()
	return replaceGarbledBody(e.clientFacingID(), err)
}

// mayReplaceJSONBody lets checkGarbled replace a JSON answer: the connector's content-length
// would no longer match, and Envoy refuses a streamed body mutation that breaks it (the client
// got a 500), so the answer goes on without one (chunked, or to the end of the stream).
func mayReplaceJSONBody(resp *extprocv3.ProcessingResponse) {
	c := resp.GetResponseHeaders().GetResponse()
	if c.HeaderMutation == nil {
		c.HeaderMutation = &extprocv3.HeaderMutation{}
	}
	c.HeaderMutation.RemoveHeaders = append(c.HeaderMutation.RemoveHeaders, "content-length")
}

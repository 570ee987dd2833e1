package authz

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// denied answers the client directly. The body is a JSON-RPC error object without an id, as
// MCP clients expect from an MCP endpoint and SDKs show their users: its message says what was
// wrong, and its data carries the OAuth error code and description (RFC 6750 §3) too.
// challenge, when set, becomes WWW-Authenticate, as the MCP authorization spec requires on 401
// (and on 403 insufficient_scope).
func denied(status int, errCode, challenge, description string) *authv3.CheckResponse {
	data, _ := json.Marshal(map[string]string{"error": errCode, "error_description": description})
	body := jsonrpc.ErrorResponse(nil, &jsonrpc.Error{Code: rpcCodeFor(status), Message: description, Data: data})
	if challenge != "" {
		return deniedWith(code.Code_PERMISSION_DENIED, status, body, header("www-authenticate", challenge))
	}
	return deniedWith(code.Code_PERMISSION_DENIED, status, body)
}

// codeUnauthenticated is the JSON-RPC error of a request without a usable token (in the range
// JSON-RPC leaves to servers; the HTTP status, 401, is what clients act on).
const codeUnauthenticated = -32004

// rpcCodeFor is the JSON-RPC error code of one of authz's direct answers.
func rpcCodeFor(status int) int {
	switch status {
	case http.StatusUnauthorized:
		return codeUnauthenticated
	case http.StatusForbidden:
		return jsonrpc.CodeForbidden
	case http.StatusNotFound:
		return jsonrpc.CodeInvalidRequest
	default:
		return jsonrpc.CodeInternalError
	}
}

// deniedWith answers the client directly: status, a JSON body and extra headers.
func deniedWith(grpcCode code.Code, status int, body []byte, extra ...*corev3.HeaderValueOption) *authv3.CheckResponse {
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(grpcCode)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Body:    string(body),
			Headers: append([]*corev3.HeaderValueOption{header("content-type", "application/json")}, extra...),
		}},
	}
}

// originRefused is MCP's answer to a browser origin the server does not trust: 403, with a
// JSON-RPC error without an id (Streamable HTTP, 2025-11-25).
func originRefused() *authv3.CheckResponse {
	return deniedWith(code.Code_PERMISSION_DENIED, http.StatusForbidden,
		jsonrpc.ErrorResponse(nil, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "origin not allowed")))
}

// codeRateLimited is the JSON-RPC error of a request over its rate limit (in the range JSON-RPC
// leaves to servers).
const codeRateLimited = -32000

// rateLimited answers a user over their virtual server's rate_limit: 429 with Retry-After in
// whole seconds, and a JSON-RPC error without an id that says the same.
func rateLimited(wait time.Duration) *authv3.CheckResponse {
	secs := int(math.Ceil(wait.Seconds()))
	return deniedWith(code.Code_RESOURCE_EXHAUSTED, http.StatusTooManyRequests,
		jsonrpc.ErrorResponse(nil, jsonrpc.Errorf(codeRateLimited, "rate limit exceeded: retry after %d s", secs)),
		header("retry-after", strconv.Itoa(secs)))
}

func unauthorized(vs spelling, reason string) *authv3.CheckResponse {
	if reason == "" {
		// No token at all: RFC 6750 §3.1 says not to add an error code.
		return denied(http.StatusUnauthorized, "invalid_token", vs.challenge, "authorization required")
	}
	return denied(http.StatusUnauthorized, "invalid_token",
		vs.challenge+`, error="invalid_token", error_description="`+quoteSafe(reason)+`"`, "invalid token: "+reason)
}

func forbidden(vs spelling, d decision) *authv3.CheckResponse {
	if d.scope != "" {
		return denied(http.StatusForbidden, "insufficient_scope",
			`Bearer error="insufficient_scope", scope="`+quoteSafe(d.scope)+`", resource_metadata="`+vs.metadata+`", error_description="`+quoteSafe(d.reason)+`"`, d.reason)
	}
	return denied(http.StatusForbidden, "access_denied", "", d.reason)
}

// quoteSafe keeps a policy-supplied string from breaking out of a quoted auth-param.
func quoteSafe(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// allowed strips the client's credential and any client-sent internal header, and hands the
// verified identity on as a signed header, which extproc and the aggregator verify. Not as
// dynamic metadata: Envoy would copy it into every ext_proc message of the request, and decoding
// it there four times cost more than verifying one signature.
func allowed(signed string, in map[string]string, extra map[string]string, h hint, handoff string) *authv3.CheckResponse {
	remove := []string{headers.Authorization}
	for name := range in {
		if setByAuthz(name, h) {
			// Overwritten below, not removed: Envoy applies headers_to_remove after the
			// headers it sets, so removing one would drop vmcp's own whenever a client sent a
			// forged one (found by e2e TestSpoofedInternalHeadersAreStrippedAtTheEdge: the
			// aggregator answered 401).
			continue
		}
		if headers.IsInternal(name) {
			remove = append(remove, name)
		} else if h.connector != "" && headers.Unforwarded(strings.ToLower(name)) {
			// The hinted connector's plain route: extproc cannot remove headers there, so
			// what must not reach a connector goes here.
			remove = append(remove, name)
		}
	}
	set := []*corev3.HeaderValueOption{header(headers.Identity, signed), header(headers.Decision, handoff)}
	if h.connector != "" {
		set = append(set, header(headers.RouteHint, h.connector))
	}
	if h.direct {
		set = append(set, header(headers.DirectAnswer, "1"))
	}
	for k, v := range extra {
		// A policy may add headers for the upstream, but never an internal one or a credential.
		if headers.IsInternal(k) || k == headers.Authorization || k == "cookie" {
			continue
		}
		set = append(set, header(k, v))
	}
	resp := &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code.Code_OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers:         set,
			HeadersToRemove: remove,
		}},
	}
	if h.connector != "" {
		resp.DynamicMetadata = &structpb.Struct{Fields: map[string]*structpb.Value{
			headers.RequestHeadersMetadata: structpb.NewStringValue(plainRequestHeaders(in, signed, handoff, h)),
		}}
	}
	return resp
}

// setByAuthz says whether allowed sets header name itself for this request: the identity and
// the decision always, the route hint and the direct-answer mark when h picks them.
func setByAuthz(name string, h hint) bool {
	return strings.EqualFold(name, headers.Identity) || strings.EqualFold(name, headers.Decision) ||
		h.connector != "" && strings.EqualFold(name, headers.RouteHint) ||
		h.direct && strings.EqualFold(name, headers.DirectAnswer)
}

// plainRequestHeaders are the request headers extproc reads on a plain route, as they will be
// once this answer applies: what may reach a connector, the pseudo-headers, and vmcp's own
// identity and route hint. One string (headers.EncodeList), not a struct of many fields:
// Envoy forwards this metadata with every ext_proc message of the request, and a struct's map
// costs each side far more to encode and decode than the message it saves.
func plainRequestHeaders(in map[string]string, signed, handoff string, h hint) string {
	list := make([]string, 0, 2*len(in)+4)
	for k, v := range in {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, ":") || headers.ForwardedToConnector(k) {
			list = append(list, k, v)
		}
	}
	list = append(list, headers.Identity, signed, headers.Decision, handoff, headers.RouteHint, h.connector)
	if h.direct {
		list = append(list, headers.DirectAnswer, "1")
	}
	return headers.EncodeList(list)
}

func header(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: k, Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

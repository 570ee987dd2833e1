package routing

import (
	"encoding/json"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

// Kind says how a method's request names its connector.
type Kind int

// Kinds of requests.
const (
	// NotRouted requests (initialize, lists, ping, notifications, answers) go to the aggregator.
	NotRouted Kind = iota
	// ByToolName: tools/call, by params.name.
	ByToolName
	// ByPromptName: prompts/get, by params.name.
	ByPromptName
	// ByResourceURI: resources/read, resources/subscribe and resources/unsubscribe, by params.uri.
	ByResourceURI
	// ByCompletionRef: completion/complete, by the prompt name or resource URI of params.ref.
	ByCompletionRef
)

// KindOf says how a request of method names its connector.
func KindOf(method string) Kind {
	switch method {
	case "tools/call":
		return ByToolName
	case "prompts/get":
		return ByPromptName
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return ByResourceURI
	case "completion/complete":
		return ByCompletionRef
	}
	return NotRouted
}

// Request is one JSON-RPC request to decide. ReadRequest fills in what the body says; the
// caller adds who asks, where.
type Request struct {
	// VirtualServer is where the request was sent (Table.ByPath).
	VirtualServer *VirtualServer
	// Caller is who asks, as the identity authz signed says; SignedIdentity is that identity,
	// for what the Catalog asks connectors on the caller's behalf.
	Caller         toolpolicy.Caller
	SignedIdentity string

	Method string
	Kind   Kind
	// RefKind is what the target is: Kind, or for a completion ByPromptName or ByResourceURI.
	RefKind Kind
	// Params are the request's params (nil when NotRouted). Decide rewrites a call_tool's into
	// those of the tool it names.
	Params map[string]json.RawMessage
	// Target is the tool or prompt name, or the resource URI, the request names; Named says it
	// names one.
	Target string
	Named  bool
}

// ReadRequest reads what routing needs from a request's method and params: how it names its
// connector, and the name or URI it names it by. A routed method without a params object is
// refused with the error returned.
func ReadRequest(method string, params json.RawMessage) (Request, *jsonrpc.Error) {
	r := Request{Method: method, Kind: KindOf(method)}
	r.RefKind = r.Kind
	if r.Kind == NotRouted {
		return r, nil
	}
	// Into a variable of its own: &r.Params would move the whole Request to the heap.
	var decoded map[string]json.RawMessage
	if err := json.Unmarshal(params, &decoded); err != nil || decoded == nil {
		return r, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "%s needs params", method)
	}
	r.Params = decoded
	r.Target, r.RefKind, r.Named = target(r.Kind, r.Params)
	return r, nil
}

// NamesTarget says whether the request's method names its target at the top of its params
// (a tool or prompt name, a resource URI), which 2026-07-28 clients mirror in Mcp-Name.
func (r *Request) NamesTarget() bool { return r.Kind != NotRouted && r.Kind != ByCompletionRef }

// target reads what a routed request names: the tool or prompt name, or the resource URI. For a
// completion, the prompt name or resource URI of its ref, and which of the two it is.
func target(kind Kind, params map[string]json.RawMessage) (name string, refKind Kind, ok bool) {
	field := "name"
	raw := params
	refKind = kind
	switch kind {
	case ByResourceURI:
		field = "uri"
	case ByCompletionRef:
		var ref map[string]json.RawMessage
		if json.Unmarshal(params["ref"], &ref) != nil || ref == nil {
			return "", kind, false
		}
		var typ string
		json.Unmarshal(ref["type"], &typ)
		switch typ {
		case "ref/prompt":
			refKind, field = ByPromptName, "name"
		case "ref/resource":
			refKind, field = ByResourceURI, "uri"
		default:
			return "", kind, false
		}
		raw = ref
	}
	if err := json.Unmarshal(raw[field], &name); err != nil || name == "" {
		return "", refKind, false
	}
	return name, refKind, true
}

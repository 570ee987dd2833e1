package routing

import (
	"encoding/json"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// metaTool handles the tool-discovery meta-tools (search_tools, call_tool) in a tools/call on a
// virtual server with discovery enabled, before anything is decided about the call:
//   - search_tools goes on, untouched, to the aggregator, which answers it from the caller's own
//     filtered view of the tools;
//   - call_tool is unwrapped in params — name and arguments become the named tool's — and the
//     real tool's name is returned, so the call then takes exactly the path of a direct
//     tools/call of that tool: the same name resolution, vmcp.tools decision (on the real name
//     and arguments), credential, session and audit record.
//
// Any other name is returned as it is. With done set, d is the decision.
func metaTool(params map[string]json.RawMessage, name string) (tool string, d Decision, done bool) {
	switch name {
	case config.SearchToolsName:
		return name, Decision{Action: Aggregate}, true
	case config.CallToolName:
	default:
		return name, Decision{}, false
	}
	// Exact keys, as ReadRequest reads params: encoding/json would also take "Name" for "name".
	var inner map[string]json.RawMessage
	var innerName string
	if err := json.Unmarshal(params["arguments"], &inner); err != nil || json.Unmarshal(inner["name"], &innerName) != nil || innerName == "" {
		d = refusal(jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"%s needs arguments {\"name\": a tool's name from %s, \"arguments\": its arguments}", name, config.SearchToolsName), audit.OutcomeError)
		d.Target = name
		return "", d, true
	}
	if innerName == config.SearchToolsName || innerName == config.CallToolName {
		d = refusal(jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"%s calls a tool found with %s, not %q", name, config.SearchToolsName, innerName), audit.OutcomeError)
		d.Target = name
		return "", d, true
	}
	params["name"], _ = json.Marshal(innerName)
	if args := inner["arguments"]; len(args) > 0 && string(args) != "null" {
		params["arguments"] = args
	} else {
		delete(params, "arguments")
	}
	return innerName, Decision{Unwrapped: true}, false
}

package extproc

import (
	"encoding/json"
	"net/http"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// metaTool handles the tool-discovery meta-tools (issue 13) in a tools/call on a virtual server
// with discovery enabled, before anything is decided about the call:
//   - search_tools goes on, untouched, to the aggregator, which answers it from the caller's own
//     filtered view of the tools;
//   - call_tool is unwrapped in params — name and arguments become the named tool's — and the
//     real tool's name is returned, so the call then takes exactly the path of a direct
//     tools/call of that tool: the same name resolution, vmcp.tools decision (on the real name
//     and arguments), credential, session and audit record.
//
// Any other name is returned as it is. A non-nil response ends processing with it.
func (e *edgeExchange) metaTool(id json.RawMessage, params map[string]json.RawMessage, name string) (string, *extprocv3.ProcessingResponse) {
	if !e.vs.discovery {
		return name, nil
	}
	switch name {
	case config.SearchToolsName:
		return name, continueRequestBody()
	case config.CallToolName:
	default:
		return name, nil
	}
	var inner struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(params["arguments"], &inner); err != nil || inner.Name == "" {
		e.event.Target = name
		return "", e.refuse(http.StatusOK, id, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"%s needs arguments {\"name\": a tool's name from %s, \"arguments\": its arguments}", name, config.SearchToolsName), audit.OutcomeError)
	}
	if inner.Name == config.SearchToolsName || inner.Name == config.CallToolName {
		e.event.Target = name
		return "", e.refuse(http.StatusOK, id, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"%s calls a tool found with %s, not %q", name, config.SearchToolsName, inner.Name), audit.OutcomeError)
	}
	e.unwrapped = true
	params["name"], _ = json.Marshal(inner.Name)
	if len(inner.Arguments) > 0 && string(inner.Arguments) != "null" {
		params["arguments"] = inner.Arguments
	} else {
		delete(params, "arguments")
	}
	return inner.Name, nil
}

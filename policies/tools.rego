# vmcp.tools decides which tools a caller sees (tools/list is filtered with it) and whether each
# call may go ahead. It runs in extproc and the aggregator, after vmcp.authz let the caller in.
#
# Input:
#   input.action                 "list" (visibility) or "call"
#   input.subject, input.email, input.client_id
#   input.groups                 the caller's groups
#   input.virtual_server.name
#   input.virtual_server.access  the virtual server's access config; access.tools maps a tool
#                                name or glob ("notes__*") to the groups allowed to use it,
#                                access.connectors a connector to the groups allowed to use any
#                                of its tools (and, through vmcp.connectors, its resources and
#                                prompts)
#   input.connector              the connector that serves the tool
#   input.tool.name              the tool's name at the connector
#   input.tool.exposed           the name the client sees (prefix, renames applied)
#   input.arguments              the call's arguments (action "call" only)
#
# Output: data.vmcp.tools.decision = {"allow": bool, "reason": string}
package vmcp.tools

import rego.v1

restrictions := object.get(object.get(input.virtual_server, "access", {}), "tools", {})

connector_restrictions := object.get(object.get(input.virtual_server, "access", {}), "connectors", {})

caller_groups := object.get(input, "groups", [])

# The patterns that match this tool, and the groups each allows. Globs match with no delimiters
# (null): with [] OPA's glob.match treats "." as one, so "notes__*" would not match
# "notes__admin.purge" — a tool name may contain "." and "/" (MCP 2025-11-25 "Tool names"), and a
# "*" that stops at either would leave such tools open to everyone.
matching contains pattern if {
	some pattern, _ in restrictions
	glob.match(pattern, null, input.tool.exposed)
}

allowed_by contains [pattern, g] if {
	some pattern in matching
	some g in restrictions[pattern]
	g in caller_groups
}

# A restriction on the tool's connector applies before any on the tool: both must let the caller in.
connector_closed if {
	some groups in [connector_restrictions[input.connector]]
	count({g | some g in groups; g in caller_groups}) == 0
}

decision := {
	"allow": false,
	"reason": sprintf("connector %s is restricted to groups %v", [input.connector, sort(connector_restrictions[input.connector])]),
} if {
	connector_closed
} else := {"allow": true, "reason": "no restriction applies to this tool"} if {
	count(matching) == 0
} else := {"allow": true, "reason": sprintf("member of group %q", [min({g | some [_, g] in allowed_by})])} if {
	count(allowed_by) > 0
} else := {
	"allow": false,
	"reason": sprintf("%s is restricted to groups %v", [input.tool.exposed, sort(union({{g | some g in restrictions[p]} | some p in matching}))]),
}

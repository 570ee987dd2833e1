# vmcp.connectors decides whether a caller may use a connector's resources, resource templates
# and prompts: list them (resources/list, resources/templates/list, prompts/list are filtered
# with it) and read or get one (resources/read, resources/subscribe, prompts/get, and completions
# for a prompt or resource). Tools are vmcp.tools' job, which applies the same access.connectors
# restriction to them. It runs in extproc and the aggregator, after vmcp.authz let the caller in.
#
# Input:
#   input.action                 "list" (visibility) or "read" (read, get, subscribe, complete)
#   input.primitive              "resource", "resource_template" or "prompt"
#   input.subject, input.email, input.client_id
#   input.groups                 the caller's groups
#   input.virtual_server.name
#   input.virtual_server.access  the virtual server's access config; access.connectors maps a
#                                connector to the groups allowed to use any of its primitives
#   input.connector              the connector that serves it
#   input.name                   the resource's URI, the template's URI template, or the prompt's
#                                name as the client sees it
#
# Output: data.vmcp.connectors.decision = {"allow": bool, "reason": string}
package vmcp.connectors

import rego.v1

restrictions := object.get(object.get(input.virtual_server, "access", {}), "connectors", {})

caller_groups := object.get(input, "groups", [])

decision := {"allow": true, "reason": "no restriction applies to this connector"} if {
	not restrictions[input.connector]
} else := {"allow": true, "reason": sprintf("member of group %q", [min({g | some g in restrictions[input.connector]; g in caller_groups})])} if {
	some g in restrictions[input.connector]
	g in caller_groups
} else := {
	"allow": false,
	"reason": sprintf("connector %s is restricted to groups %v", [input.connector, sort(restrictions[input.connector])]),
}

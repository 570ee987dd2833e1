# Example 2 — read-only tools for a role.
#
# Use it as vmcp.tools: rename the package to vmcp.tools. Groups map to roles, and tools carry
# risk labels, both in bundle data:
#   {"vmcp": {"group_roles": {"contractors": ["viewer"]},
#             "tool_labels": {"notes__list_notes": {"read_only": true}}}}
# A viewer sees and calls only tools labelled read_only; everyone else is unrestricted here.
package vmcp.examples.read_only_tools

import rego.v1

roles contains r if {
	some g in input.groups
	some r in object.get(data.vmcp.group_roles, g, [])
}

read_only if object.get(data.vmcp.tool_labels, [input.tool.exposed, "read_only"], false) == true

decision := {"allow": true, "reason": "not a viewer"} if {
	not "viewer" in roles
} else := {"allow": true, "reason": "read-only tool"} if {
	read_only
} else := {"allow": false, "reason": sprintf("viewers may only use read-only tools; %s is not one", [input.tool.exposed])}

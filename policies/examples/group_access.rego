# Example 1 — group access to a virtual server, from bundle data.
#
# Use it as vmcp.authz: rename the package to vmcp.authz. Which groups may use which virtual
# server lives in data (a bundle's data.json), so the security team changes access without
# touching Rego:
#   {"vmcp": {"virtual_server_groups": {"finance": ["finance", "auditors"], "eng": ["eng"]}}}
package vmcp.examples.group_access

import rego.v1

allowed := object.get(data.vmcp.virtual_server_groups, input.virtual_server.name, [])

member_of contains g if {
	some g in input.groups
	g in allowed
}

decision := {"allow": true, "reason": sprintf("member of group %q", [min(member_of)])} if {
	count(member_of) > 0
} else := {
	"allow": false,
	"reason": sprintf("virtual server %q is for groups %v", [input.virtual_server.name, allowed]),
}

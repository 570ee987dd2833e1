# vmcp.authz decides whether a verified caller may reach a virtual server at all. Tool-level
# decisions are vmcp.tools' job, in extproc.
#
# Input (built by vmcp's authz service for every request):
#   input.subject                      the token's sub
#   input.claims                       every verified claim of the token (groups, roles, email, …)
#   input.groups, input.roles          the caller's groups and roles, from the claims the issuer's
#                                      configuration names (default "groups" and "roles")
#   input.issuer                       the trusted issuer that signed the token
#   input.virtual_server.name / .path
#   input.virtual_server.access.groups / .roles   who the configuration lets in (empty: everyone)
#   input.request.method / .path / .headers       (headers: a selected, non-secret few)
#   input.mcp.method                   the Mcp-Method header of a POST, else "": extproc refuses a
#                                      request whose body says another method, on every revision,
#                                      but clients before 2026-07-28 may leave it out — restrict
#                                      by listing allowed methods, never by listing denied ones
#
# Output: data.vmcp.authz.decision = {"allow": bool, "reason": string,
#   optional "scope": string (deny because of missing scopes → 403 insufficient_scope),
#   optional "headers": {name: value} (added to the request for the upstream)}.
package vmcp.authz

import rego.v1

access := object.get(input.virtual_server, "access", {})

allowed_groups := object.get(access, "groups", [])

allowed_roles := object.get(access, "roles", [])

caller_groups := object.get(input, "groups", [])

caller_roles := object.get(input, "roles", [])

open_to_all if {
	count(allowed_groups) == 0
	count(allowed_roles) == 0
}

matching_groups contains g if {
	some g in caller_groups
	g in allowed_groups
}

matching_roles contains r if {
	some r in caller_roles
	r in allowed_roles
}

decision := {"allow": true, "reason": "virtual server is open to every signed-in user"} if {
	open_to_all
} else := {"allow": true, "reason": sprintf("member of group %q", [min(matching_groups)])} if {
	count(matching_groups) > 0
} else := {"allow": true, "reason": sprintf("has role %q", [min(matching_roles)])} if {
	count(matching_roles) > 0
} else := {
	"allow": false,
	"reason": sprintf("%s is in none of the groups or roles allowed on virtual server %q", [input.subject, input.virtual_server.name]),
}

# Example 3 — argument-based denial.
#
# Use it as vmcp.tools: rename the package to vmcp.tools. A call is refused when its arguments
# reach for what no agent should touch: a file path under /etc or ~/.ssh, or SQL that drops or
# truncates a table. Listing (action "list") is never refused here: the tool stays visible.
package vmcp.examples.argument_denial

import rego.v1

forbidden_paths := ["/etc/", "~/.ssh/", "/root/"]

reasons contains sprintf("path %q is off limits", [p]) if {
	input.action == "call"
	some key in ["path", "file", "filename"]
	p := object.get(input.arguments, key, "")
	is_string(p)
	some prefix in forbidden_paths
	startswith(p, prefix)
}

reasons contains "destructive SQL" if {
	input.action == "call"
	q := object.get(input.arguments, "query", "")
	is_string(q)
	regex.match(`(?i)\b(drop|truncate)\s+table\b`, q)
}

decision := {"allow": false, "reason": concat("; ", sort(reasons))} if {
	count(reasons) > 0
} else := {"allow": true, "reason": "arguments are acceptable"}

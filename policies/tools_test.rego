package vmcp.tools_test

import rego.v1

import data.vmcp.tools

call(tool, groups, access) := {
	"action": "call",
	"subject": "alice",
	"groups": groups,
	"virtual_server": {"name": "eng", "access": access},
	"connector": "notes",
	"tool": {"name": tool, "exposed": concat("__", ["notes", tool])},
	"arguments": {},
}

test_tools_without_restrictions_are_open if {
	tools.decision.allow with input as call("add_note", [], {})
}

test_a_restricted_tool_is_denied_to_outsiders_with_the_groups_named if {
	d := tools.decision with input as call("delete_note", ["eng"], {"tools": {"notes__delete_note": ["admins"]}})
	not d.allow
	contains(d.reason, "admins")
}

test_a_restricted_tool_is_allowed_to_a_member if {
	d := tools.decision with input as call("delete_note", ["eng", "admins"], {"tools": {"notes__delete_note": ["admins"]}})
	d.allow
	d.reason == `member of group "admins"`
}

test_globs_restrict_every_matching_tool if {
	not tools.decision.allow with input as call("add_note", ["sales"], {"tools": {"notes__*": ["eng"]}})
	tools.decision.allow with input as call("add_note", ["eng"], {"tools": {"notes__*": ["eng"]}})
}

test_restrictions_on_other_tools_do_not_apply if {
	tools.decision.allow with input as call("add_note", [], {"tools": {"weather__*": ["eng"]}})
}

test_any_matching_pattern_lets_a_member_in if {
	access := {"tools": {"notes__*": ["eng"], "notes__delete_note": ["admins"]}}
	tools.decision.allow with input as call("delete_note", ["admins"], access)
}

# Every character an MCP tool name may contain (2025-11-25 "Tool names": ASCII letters, digits,
# "_", "-", "." and "/"). A glob that covers a connector's prefix must cover every tool of it,
# whatever these characters its name holds: OPA's glob.match treats "." as a delimiter by
# default, and a "*" that stops at a delimiter would leave "notes__admin.purge" open to all.
tool_name_characters := split("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./", "")

exposed_call(exposed, groups, access) := object.union(call("x", groups, access), {"tool": {"name": substring(exposed, 7, -1), "exposed": exposed}})

test_a_prefix_glob_covers_tools_with_every_tool_name_character if {
	access := {"tools": {"notes__*": ["eng"]}}
	every c in tool_name_characters {
		every name in [concat("", ["notes__", c]), concat("", ["notes__a", c, "b"]), concat("", ["notes__", c, c, "x", c])] {
			not tools.decision.allow with input as exposed_call(name, ["sales"], access)
			tools.decision.allow with input as exposed_call(name, ["eng"], access)
		}
	}
}

test_a_dotted_or_slashed_tool_is_restricted_by_its_prefix_glob if {
	access := {"tools": {"notes__*": ["eng"]}}
	not tools.decision.allow with input as exposed_call("notes__admin.purge", [], access)
	not tools.decision.allow with input as exposed_call("notes__admin/purge", [], access)
	not tools.decision.allow with input as exposed_call("notes__a.b/c.d", [], access)
}

test_a_glob_in_the_middle_spans_dots_and_slashes if {
	access := {"tools": {"notes__admin*purge": ["admins"]}}
	not tools.decision.allow with input as exposed_call("notes__admin.v2/purge", ["eng"], access)
	tools.decision.allow with input as exposed_call("notes__admin.v2/purge", ["admins"], access)
}

test_a_restricted_connector_closes_every_tool_of_it_to_outsiders if {
	access := {"connectors": {"notes": ["eng"]}}
	d := tools.decision with input as call("add_note", ["sales"], access)
	not d.allow
	d.reason == `connector notes is restricted to groups ["eng"]`
	not tools.decision.allow with input as object.union(call("add_note", ["sales"], access), {"action": "list"})
	tools.decision.allow with input as call("add_note", ["eng"], access)
	tools.decision.allow with input as call("add_note", ["sales"], {"connectors": {"weather": ["eng"]}})
}

test_connector_and_tool_restrictions_must_both_let_the_caller_in if {
	access := {"connectors": {"notes": ["eng"]}, "tools": {"notes__delete_note": ["admins"]}}
	not tools.decision.allow with input as call("delete_note", ["eng"], access)
	not tools.decision.allow with input as call("delete_note", ["admins"], access)
	tools.decision.allow with input as call("delete_note", ["eng", "admins"], access)
	tools.decision.allow with input as call("add_note", ["eng"], access)
}

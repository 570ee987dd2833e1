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

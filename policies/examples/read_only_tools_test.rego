package vmcp.examples.read_only_tools_test

import rego.v1

import data.vmcp.examples.read_only_tools

roles := {"contractors": ["viewer"], "eng": ["developer"]}

labels := {"notes__list_notes": {"read_only": true}, "notes__add_note": {"read_only": false}}

ask(groups, tool) := d if {
	d := read_only_tools.decision with input as {"action": "call", "subject": "c", "groups": groups, "tool": {"exposed": tool, "name": tool}}
		with data.vmcp.group_roles as roles
		with data.vmcp.tool_labels as labels
}

test_a_viewer_may_use_a_read_only_tool if {
	ask(["contractors"], "notes__list_notes").allow
}

test_a_viewer_may_not_use_a_writing_tool if {
	d := ask(["contractors"], "notes__add_note")
	not d.allow
	contains(d.reason, "notes__add_note")
}

test_a_viewer_may_not_use_an_unlabelled_tool if {
	not ask(["contractors"], "weather__get_forecast").allow
}

test_other_roles_are_not_restricted if {
	ask(["eng"], "notes__add_note").allow
}

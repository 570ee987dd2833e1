package vmcp.examples.group_access_test

import rego.v1

import data.vmcp.examples.group_access

groups := {"finance": ["finance", "auditors"]}

test_a_member_of_a_listed_group_gets_in if {
	d := group_access.decision with input as {"subject": "ann", "groups": ["auditors"], "virtual_server": {"name": "finance"}}
		with data.vmcp.virtual_server_groups as groups
	d.allow
	d.reason == `member of group "auditors"`
}

test_anyone_else_is_refused_with_the_groups_named if {
	d := group_access.decision with input as {"subject": "bob", "groups": ["eng"], "virtual_server": {"name": "finance"}}
		with data.vmcp.virtual_server_groups as groups
	not d.allow
	contains(d.reason, "auditors")
}

test_a_virtual_server_missing_from_the_data_is_closed if {
	d := group_access.decision with input as {"subject": "ann", "groups": ["finance"], "virtual_server": {"name": "hr"}}
		with data.vmcp.virtual_server_groups as groups
	not d.allow
}

package vmcp.connectors_test

import rego.v1

import data.vmcp.connectors

ask(action, primitive, name, groups, access) := {
	"action": action,
	"primitive": primitive,
	"subject": "alice",
	"email": "alice@example.com",
	"client_id": "c",
	"groups": groups,
	"virtual_server": {"name": "eng", "access": access},
	"connector": "notes",
	"name": name,
}

primitives := [["resource", "notes://all"], ["resource_template", "notes://{id}"], ["prompt", "notes__summarize_notes"]]

test_connectors_without_restrictions_are_open if {
	every p in primitives {
		every action in ["list", "read"] {
			connectors.decision.allow with input as ask(action, p[0], p[1], [], {})
		}
	}
}

test_a_restricted_connector_hides_and_refuses_every_primitive_to_outsiders if {
	access := {"connectors": {"notes": ["eng"]}}
	every p in primitives {
		every action in ["list", "read"] {
			d := connectors.decision with input as ask(action, p[0], p[1], ["sales"], access)
			not d.allow
			d.reason == `connector notes is restricted to groups ["eng"]`
		}
	}
}

test_a_restricted_connector_is_open_to_members if {
	access := {"connectors": {"notes": ["admins", "eng"]}}
	every p in primitives {
		every action in ["list", "read"] {
			d := connectors.decision with input as ask(action, p[0], p[1], ["eng", "sales"], access)
			d.allow
			d.reason == `member of group "eng"`
		}
	}
}

test_restrictions_on_other_connectors_do_not_apply if {
	connectors.decision.allow with input as ask("read", "resource", "notes://all", [], {"connectors": {"weather": ["eng"]}})
}

test_an_empty_group_list_closes_the_connector if {
	not connectors.decision.allow with input as ask("list", "prompt", "notes__p", ["eng"], {"connectors": {"notes": []}})
}

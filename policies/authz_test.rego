package vmcp.authz_test

import rego.v1

import data.vmcp.authz

vs(access) := {"name": "eng", "path": "/v/eng/mcp", "access": access}

test_open_virtual_server_allows_any_signed_in_user if {
	d := authz.decision with input as {"subject": "alice", "virtual_server": vs({})}
	d.allow
}

test_virtual_server_without_access_key_is_open if {
	d := authz.decision with input as {"subject": "alice", "virtual_server": {"name": "eng", "path": "/v/eng/mcp"}}
	d.allow
}

test_member_of_an_allowed_group_is_let_in_and_the_reason_names_the_group if {
	d := authz.decision with input as {
		"subject": "alice",
		"groups": ["sales", "eng"],
		"virtual_server": vs({"groups": ["eng", "sre"]}),
	}
	d.allow
	d.reason == `member of group "eng"`
}

test_holder_of_an_allowed_role_is_let_in if {
	d := authz.decision with input as {
		"subject": "bob",
		"roles": ["mcp-admin"],
		"virtual_server": vs({"groups": ["eng"], "roles": ["mcp-admin"]}),
	}
	d.allow
	d.reason == `has role "mcp-admin"`
}

test_caller_in_no_allowed_group_or_role_is_denied_with_a_reason if {
	d := authz.decision with input as {
		"subject": "carol",
		"groups": ["sales"],
		"roles": ["viewer"],
		"virtual_server": vs({"groups": ["eng"], "roles": ["mcp-admin"]}),
	}
	not d.allow
	contains(d.reason, "carol")
	contains(d.reason, `"eng"`)
}

test_caller_without_any_claims_is_denied_on_a_restricted_server if {
	d := authz.decision with input as {"subject": "dave", "virtual_server": vs({"groups": ["eng"]})}
	not d.allow
}

test_group_names_match_exactly if {
	d := authz.decision with input as {"subject": "eve", "groups": ["Eng", "eng "], "virtual_server": vs({"groups": ["eng"]})}
	not d.allow
}

package vmcp.examples.argument_denial_test

import rego.v1

import data.vmcp.examples.argument_denial

call(args) := {"action": "call", "subject": "a", "tool": {"name": "t", "exposed": "fs__t"}, "arguments": args}

test_an_ordinary_call_is_allowed if {
	argument_denial.decision.allow with input as call({"path": "/srv/data/report.csv"})
}

test_a_path_under_etc_is_denied if {
	d := argument_denial.decision with input as call({"path": "/etc/shadow"})
	not d.allow
	d.reason == `path "/etc/shadow" is off limits`
}

test_destructive_sql_is_denied_whatever_its_case if {
	not argument_denial.decision.allow with input as call({"query": "select 1; DROP  Table users"})
}

test_listing_is_never_refused if {
	argument_denial.decision.allow with input as {"action": "list", "tool": {"name": "t", "exposed": "fs__t"}}
}

test_a_call_without_arguments_is_allowed if {
	argument_denial.decision.allow with input as {"action": "call", "tool": {"name": "t", "exposed": "fs__t"}}
}

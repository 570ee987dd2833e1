package policyset

import (
	"testing"
)

func TestInputsNamesTheFieldsPoliciesRead(t *testing.T) {
	tests := []struct {
		name          string
		src           string
		reads         []string
		notReads      []string
		deterministic bool
	}{
		{"dotted and object.get reads", `package p
import rego.v1
g := object.get(input, "groups", [])
allow if { input.tool.name == "x"; "a" in g }`, []string{"groups", "tool"}, []string{"arguments", "request"}, true},
		{"a read by computed key reads everything", `package p
import rego.v1
k := "arguments"
allow if input[k] == 1`, []string{"arguments", "request"}, nil, true},
		{"the whole input reads everything", `package p
import rego.v1
x := input
allow if x.a == 1`, []string{"anything"}, nil, true},
		{"object.get with a computed key reads everything", `package p
import rego.v1
k := "a"
v := object.get(input, k, 0)`, []string{"arguments"}, nil, true},
		{"a clock makes the set nondeterministic", `package p
import rego.v1
allow if time.now_ns() > input.exp`, []string{"exp"}, []string{"arguments"}, false},
		{"the default of object.get is read too", `package p
import rego.v1
v := object.get(input, "a", input.b)`, []string{"a", "b"}, []string{"c"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := (&Set{modules: map[string]string{"p.rego": tc.src}}).Inputs()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.reads {
				if !in.Reads(f) {
					t.Errorf("Reads(%q) = false, want true", f)
				}
			}
			for _, f := range tc.notReads {
				if in.Reads(f) {
					t.Errorf("Reads(%q) = true, want false", f)
				}
			}
			if in.Deterministic != tc.deterministic {
				t.Errorf("Deterministic = %v, want %v", in.Deterministic, tc.deterministic)
			}
		})
	}
}

func TestTheDefaultPoliciesReadNeitherArgumentsNorTheRequest(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	in, err := set.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"arguments", "request", "mcp"} {
		if in.Reads(f) {
			t.Errorf("the default policies read input.%s; decisions could not be reused", f)
		}
	}
	if !in.Deterministic || !in.Reads("groups") || !in.Reads("tool") {
		t.Errorf("inputs of the default policies = %+v", in)
	}
}

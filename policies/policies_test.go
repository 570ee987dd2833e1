package policies

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestRegoTests runs every *_test.rego in this directory, as `opa test .` would, so that
// `make test` covers the policies security teams read and change.
func TestRegoTests(t *testing.T) {
	results, err := tester.Run(context.Background(), ".")
	if err != nil {
		t.Fatalf("rego tests: %v", err)
	}
	if len(results) == 0 {
		t.Fatal("no Rego tests found")
	}
	for _, r := range results {
		switch {
		case r.Error != nil:
			t.Errorf("%s.%s: error: %v", r.Package, r.Name, r.Error)
		case r.Fail:
			t.Errorf("%s.%s: FAIL", r.Package, r.Name)
		case r.Skip:
			t.Errorf("%s.%s: skipped (todo_ tests hide gaps; make it pass or delete it)", r.Package, r.Name)
		default:
			t.Logf("%s.%s: PASS", r.Package, r.Name)
		}
	}
}

func TestDefaultsExcludeTests(t *testing.T) {
	mods, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	_, authz := mods["authz.rego"]
	_, tools := mods["tools.rego"]
	_, connectors := mods["connectors.rego"]
	if !authz || !tools || !connectors || len(mods) != 3 {
		t.Fatalf("defaults = %v, want authz.rego, tools.rego and connectors.rego only", keys(mods))
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

package policies_test

import (
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/policytool"
)

// TestPoliciesPassStrictCompileAndOpaFmt is `vmcp policy check policies/` as part of make test:
// the shipped policies compile in OPA's strict mode and are formatted as opa fmt formats them.
func TestPoliciesPassStrictCompileAndOpaFmt(t *testing.T) {
	var out strings.Builder
	if err := policytool.Check(&out, "."); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

// TestPolicyTestCommandRunsThePolicyTests is `vmcp policy test policies/`.
func TestPolicyTestCommandRunsThePolicyTests(t *testing.T) {
	var out strings.Builder
	if err := policytool.Test(t.Context(), &out, "."); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), " 0 failed") {
		t.Fatalf("summary missing: %s", out.String())
	}
}

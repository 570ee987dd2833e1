// Package policytool is what `vmcp policy` does offline: run Rego unit tests with OPA's tester,
// check policies with OPA's strict compiler and formatter, and evaluate one decision for a
// made-up caller (the dry run) with the same input builders and prepared queries vmcp uses live.
package policytool

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/open-policy-agent/opa/v1/tester"
)

// Test runs every *_test.rego under dirs (and the policies they test), as `opa test` does, and
// prints one line per test. It fails when a test fails, errs, is skipped, or none exists.
func Test(ctx context.Context, w io.Writer, dirs ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	results, err := tester.Run(ctx, dirs...)
	if err != nil {
		return fmt.Errorf("rego tests: %w", err)
	}
	if len(results) == 0 {
		return fmt.Errorf("no Rego tests found in %v", dirs)
	}
	failed := 0
	for _, r := range results {
		status := "PASS"
		switch {
		case r.Error != nil:
			status, failed = "ERROR "+r.Error.Error(), failed+1
		case r.Fail:
			status, failed = "FAIL", failed+1
		case r.Skip:
			// A todo_ test hides a gap: make it pass or delete it.
			status, failed = "SKIPPED", failed+1
		}
		fmt.Fprintf(w, "%s.%s: %s (%s)\n", r.Package, r.Name, status, r.Duration.Round(time.Microsecond))
	}
	fmt.Fprintf(w, "%d tests, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d Rego tests failed", failed, len(results))
	}
	return nil
}

package harness

import "testing"

// Step runs f as the subtest name of t, a step of the story t tells, and ends t there if the step
// failed: each step starts from where the ones before left the system, so the steps after a
// failed one would fail for its sake and hide which step broke. The failed step's own report
// (its name, its t.Errorf and t.Fatalf) says what went wrong.
//
// Values later steps need are declared in the story and set by the step that makes them. What
// must outlive a step and is closed when its test ends (a client session, say) is made by the
// story itself, before its steps.
func Step(t Story, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// Story is what Step needs of the test it runs a step of: a *testing.T.
type Story interface {
	Helper()
	Run(name string, f func(t *testing.T)) bool
	FailNow()
}

package harness

import (
	"testing"
	"time"
)

// Polling backoff: fast enough that a test waits a few milliseconds past readiness, slow enough
// not to hammer a process that is still starting (Envoy takes around a second).
const (
	firstPoll = 10 * time.Millisecond
	maxPoll   = 250 * time.Millisecond
)

// Eventually calls f until it returns nil, backing off between attempts, and fails t with f's
// last error if that has not happened within timeout. It is the only way tests here wait.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := firstPoll
	attempts := 0
	for {
		attempts++
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("harness: condition not met within %s (%d attempts); last error: %v", timeout, attempts, err)
			return
		}
		time.Sleep(min(wait, time.Until(deadline)+time.Millisecond))
		wait = min(2*wait, maxPoll)
	}
}

package harness

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	cases := []struct {
		name         string
		succeedOn    int // attempt that returns nil; 0 means never
		timeout      time.Duration
		wantAttempts int // exact number of calls, or 0 to skip the check
		wantFatal    bool
	}{
		{name: "returns at once when the condition already holds", succeedOn: 1, timeout: time.Second, wantAttempts: 1},
		{name: "retries until the condition holds", succeedOn: 4, timeout: 10 * time.Second, wantAttempts: 4},
		{name: "fails with the last error after the timeout", succeedOn: 0, timeout: 100 * time.Millisecond, wantFatal: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			attempts := 0
			inGoroutine(func() {
				Eventually(rec, tc.timeout, func() error {
					attempts++
					if attempts == tc.succeedOn {
						return nil
					}
					return fmt.Errorf("attempt %d: not ready", attempts)
				})
			})
			if tc.wantAttempts != 0 && attempts != tc.wantAttempts {
				t.Errorf("f called %d times, want %d", attempts, tc.wantAttempts)
			}
			if !tc.wantFatal {
				if len(rec.fatals) != 0 {
					t.Fatalf("unexpected failure: %v", rec.fatals)
				}
				return
			}
			if len(rec.fatals) != 1 {
				t.Fatalf("failures = %v, want exactly one", rec.fatals)
			}
			// The message must carry the last error, not the first, so the reader sees the
			// state the condition was stuck in.
			want := fmt.Sprintf("last error: attempt %d: not ready", attempts)
			if !strings.Contains(rec.fatals[0], want) || attempts < 2 {
				t.Errorf("failure %q after %d attempts, want it to contain %q", rec.fatals[0], attempts, want)
			}
		})
	}
}

func TestEventuallyDoesNotOverrunItsTimeoutMuch(t *testing.T) {
	rec := &recorder{TB: t}
	start := time.Now()
	inGoroutine(func() {
		Eventually(rec, 300*time.Millisecond, func() error { return errors.New("never") })
	})
	// The last sleep is clipped to the deadline; the margin is for a loaded machine.
	if took := time.Since(start); took > 300*time.Millisecond+maxPoll+time.Second {
		t.Errorf("Eventually with a 300ms timeout took %s", took)
	}
	if len(rec.fatals) != 1 {
		t.Errorf("failures = %v, want one", rec.fatals)
	}
}

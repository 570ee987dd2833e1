//go:build unix

package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const sleeperPkg = "./e2e/harness/testdata/sleeper"

func TestBuildRunsOncePerPackage(t *testing.T) {
	first := Build(t, sleeperPkg)
	info, err := os.Stat(first)
	if err != nil {
		t.Fatalf("built binary: %v", err)
	}
	second := Build(t, sleeperPkg)
	again, err := os.Stat(second)
	if err != nil {
		t.Fatal(err)
	}
	if first != second || !info.ModTime().Equal(again.ModTime()) {
		t.Errorf("second Build gave %s (%s), want the first build %s (%s)", second, again.ModTime(), first, info.ModTime())
	}
}

func TestStartCapturesOutputAndStopsWithSIGTERM(t *testing.T) {
	p := Start(t, "sleeper", []string{"SLEEPER_GREETING=hello"}, Build(t, sleeperPkg))
	Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(p.Output(), `sleeper ready`) {
			return fmt.Errorf("no ready line yet; output: %q", p.Output())
		}
		return nil
	})
	if !strings.Contains(p.Output(), `greeting="hello"`) {
		t.Errorf("env was not passed: %q", p.Output())
	}
	if err := p.Err(); err != nil {
		t.Errorf("Err while running = %v, want nil", err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop = %v, want a clean exit after SIGTERM", err)
	}
	if !strings.Contains(p.Output(), "sleeper got SIGTERM") {
		t.Errorf("output after Stop = %q, want the SIGTERM line", p.Output())
	}
	select {
	case <-p.Done():
	default:
		t.Error("Done is not closed after Stop")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop = %v, want the same clean exit", err)
	}
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	p := Start(t, "stubborn sleeper", nil, Build(t, sleeperPkg), "-ignore-term")
	Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(p.Output(), "sleeper ready") {
			return errors.New("not ready")
		}
		return nil
	})
	p.killAfter = 100 * time.Millisecond
	err := p.Stop()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.String() != "signal: killed" {
		t.Errorf("Stop = %v, want signal: killed", err)
	}
}

func TestAProcessThatExitsByItselfReportsItsStatus(t *testing.T) {
	p := Start(t, "quitter", nil, Build(t, sleeperPkg), "-exit", "3")
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the process did not exit")
	}
	var exit *exec.ExitError
	if err := p.Err(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("Err = %v, want exit status 3", err)
	}
	if !strings.Contains(p.Output(), "sleeper exiting with 3") {
		t.Errorf("stderr was not captured: %q", p.Output())
	}
}

func TestStartFailsTheTestForAMissingBinary(t *testing.T) {
	rec := &recorder{TB: t}
	inGoroutine(func() { Start(rec, "ghost", nil, "/nonexistent/vmcp-ghost") })
	if len(rec.fatals) != 1 || !strings.Contains(rec.fatals[0], "start ghost") {
		t.Errorf("failures = %v, want one naming the process", rec.fatals)
	}
}

func TestOutputIsLoggedOnlyWhenTheTestFails(t *testing.T) {
	bin := Build(t, sleeperPkg)
	for _, failed := range []bool{false, true} {
		rec := &recorder{failed: failed}
		t.Run(fmt.Sprintf("failed=%v", failed), func(t *testing.T) {
			rec.TB = t // cleanups registered by Start run when this subtest ends
			p := Start(rec, "logged sleeper", nil, bin)
			Eventually(t, 10*time.Second, func() error {
				if !strings.Contains(p.Output(), "sleeper ready") {
					return errors.New("not ready")
				}
				return nil
			})
		})
		logged := strings.Join(rec.logs, "\n")
		if !failed {
			if logged != "" {
				t.Errorf("a passing test logged the output:\n%s", logged)
			}
			continue
		}
		for _, want := range []string{"==== logged sleeper (pid ", "sleeper ready", "sleeper got SIGTERM", "==== end of logged sleeper output ===="} {
			if !strings.Contains(logged, want) {
				t.Errorf("failure log does not contain %q:\n%s", want, logged)
			}
		}
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// proc is a real child process standing where Envoy would: the supervisor's job is only to
// notice its exit and start another.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProc(t *testing.T, script string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command("sh", "-c", script), done: make(chan struct{})}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p
}

func (p *proc) Done() <-chan struct{} { return p.done }
func (p *proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}
func (p *proc) Stop() error { p.cmd.Process.Signal(syscall.SIGTERM); <-p.done; return nil }
func (p *proc) WaitReady(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

func TestAnEnvoyThatIsKilledIsRestartedWithAWarning(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var started atomic.Int32
	var latest atomic.Pointer[proc]
	start := func() (child, error) {
		p := startProc(t, "exec sleep 60")
		latest.Store(p)
		started.Add(1)
		return p, nil
	}
	first, _ := start()
	sup := supervise(first, start, restartPolicy{Max: 3, Window: time.Minute, Backoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}, zap.New(core))
	for i := 2; i <= 3; i++ {
		latest.Load().cmd.Process.Kill()
		harness.Eventually(t, 10*time.Second, func() error {
			if n := started.Load(); n != int32(i) {
				return fmt.Errorf("%d children started, want %d", n, i)
			}
			return nil
		})
	}
	select {
	case err := <-sup.GaveUp():
		t.Fatalf("gave up after two exits with three restarts allowed: %v", err)
	default:
	}
	if n := logs.FilterMessage("envoy exited; restarting it").FilterLevelExact(zapcore.WarnLevel).Len(); n != 2 {
		t.Errorf("%d restart warnings, want 2", n)
	}
	sup.Stop()
	if p := latest.Load(); p.Err() == nil {
		t.Errorf("Stop left the current child running")
	}
	if started.Load() != 3 {
		t.Errorf("%d children started, want 3 (none after Stop)", started.Load())
	}
}

func TestAnEnvoyThatKeepsExitingIsGivenUpOn(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var started atomic.Int32
	start := func() (child, error) { started.Add(1); return startProc(t, "exit 3"), nil }
	first, _ := start()
	sup := supervise(first, start, restartPolicy{Max: 3, Window: time.Minute, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}, zap.New(core))
	defer sup.Stop()
	select {
	case err := <-sup.GaveUp():
		if err == nil {
			t.Fatal("gave up with no reason")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never gave up on a child that exits at once")
	}
	if n := started.Load(); n != 4 {
		t.Errorf("%d starts, want the first and 3 restarts", n)
	}
	if logs.FilterMessage("envoy keeps exiting; giving up").Len() != 1 {
		t.Errorf("giving up was not logged")
	}
}

func TestStopEndsARestartBackoffAtOnce(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	start := func() (child, error) { return startProc(t, "exit 1"), nil }
	first, _ := start()
	sup := supervise(first, start, restartPolicy{Max: 5, Window: time.Minute, Backoff: time.Hour, MaxBackoff: time.Hour}, zap.New(core))
	// Stop before the supervisor has seen the exit would not reach the backoff at all.
	harness.Eventually(t, 10*time.Second, func() error {
		if logs.FilterMessage("envoy exited; restarting it").Len() == 0 {
			return errors.New("the supervisor has not begun its backoff")
		}
		return nil
	})
	begun := time.Now()
	sup.Stop()
	if took := time.Since(begun); took > 5*time.Second {
		t.Errorf("Stop took %s during an hour-long backoff", took)
	}
}

// When Envoy cannot be kept up, vmcp dev does not just exit: it stops the gateway and waits for
// it (in-flight calls finish, the audit is flushed), then reports why.
func TestWaitDevDrainsTheGatewayWhenEnvoyIsGivenUpOn(t *testing.T) {
	sup := &supervisor{gaveUp: make(chan error, 1)}
	sup.gaveUp <- errors.New("envoy exited 6 times within 1m0s")
	gatewayDone := make(chan error, 1)
	var stopped atomic.Bool
	stop := func() {
		if !stopped.Swap(true) {
			gatewayDone <- nil // Run returns once drained
		}
	}
	err := waitDev(context.Background(), zap.NewNop(), stop, gatewayDone, nil, sup)
	if err == nil || !strings.Contains(err.Error(), "6 times") {
		t.Errorf("waitDev = %v, want the reason Envoy was given up on", err)
	}
	if !stopped.Load() {
		t.Error("the gateway was not stopped")
	}
	if len(gatewayDone) != 0 {
		t.Error("waitDev returned before the gateway had drained")
	}
}

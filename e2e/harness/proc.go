//go:build unix

package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// killAfter is how long Stop waits after SIGTERM before SIGKILL: enough for vmcp to drain and
// stop its Envoy child, short enough that a hung process does not stall the suite.
const killAfter = 5 * time.Second

// Proc is a process started by Start.
type Proc struct {
	name      string
	cmd       *exec.Cmd
	logPath   string
	done      chan struct{} // closed once the process has exited
	err       error         // cmd.Wait's result; read only after done is closed
	stopOnce  sync.Once
	killAfter time.Duration
}

// Start runs bin with args. env entries are added to the test's own environment (a later entry
// for the same variable wins). The process is stopped when the test ends (see Stop); if the
// test failed, its output is then logged under a header naming it.
//
// The child leads its own process group, so Stop reaches whatever it started (vmcp's Envoy
// child, for one), and gets SIGKILL if the test binary dies first (Linux Pdeathsig), so a
// crashed or interrupted test run leaves nothing listening.
//
// Output goes to a file in the test's temporary directory rather than a pipe: a grandchild
// that inherits a pipe keeps it open after the child exits, which would keep Wait (and Stop)
// from returning; a file also keeps a chatty Envoy's log out of the test's memory.
func Start(t testing.TB, name string, env []string, bin string, args ...string) *Proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "output.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("harness: start %s: %v", name, err)
	}
	defer logFile.Close() // the child has its own descriptor

	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("harness: start %s (%s): %v", name, bin, err)
	}
	p := &Proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{}), killAfter: killAfter}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.Stop()
		if t.Failed() {
			status := "exit status 0"
			if p.err != nil {
				status = p.err.Error()
			}
			t.Logf("\n==== %s (pid %d, %s) output ====\n%s\n==== end of %s output ====",
				p.name, p.Pid(), status, p.Output(), p.name)
		}
	})
	return p
}

// Output returns everything the process (and anything it started) has written so far to its
// stdout and stderr.
func (p *Proc) Output() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(output of %s unavailable: %v)", p.name, err)
	}
	return string(b)
}

// Pid is the process id, which is also its process group id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited, whoever stopped it.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns how the process ended (nil for exit status 0), or nil while it still runs.
func (p *Proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop sends SIGTERM to the process group, SIGKILL if the process has not exited 5 s later,
// then SIGKILL to whatever it left behind in its group; it waits for the exit and returns how
// the process ended. It is safe to call more than once.
func (p *Proc) Stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			// Exited by itself, perhaps long ago: its group id may now belong to someone else.
			return
		default:
		}
		pgid := p.Pid()
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		timer := time.NewTimer(p.killAfter)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		// Sweep the group (an Envoy the process failed to stop, say). A process group id is
		// not reused while any member is alive, so this reaches only what we started.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
	<-p.done
	return p.err
}

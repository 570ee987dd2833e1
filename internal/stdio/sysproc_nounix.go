//go:build !unix

package stdio

import (
	"errors"
	"os"
	"syscall"
)

// Without Unix process groups a server is started and stopped as a single process; whatever it
// starts itself may outlive it. vmcp's supported platforms are Unix; this keeps the binary
// building elsewhere.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func applyLimits(pid int, l Limits) error {
	if l.Memory == 0 && l.OpenFiles == 0 {
		return nil
	}
	return errors.New("resource limits need Linux (prlimit); the process runs without them")
}

// signalGroup can only end the process itself here: there is no SIGTERM to send.
func signalGroup(pid int, sig syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// sweepGroup does nothing: with no process group, the pid alone may already name someone else.
func sweepGroup(int) {}

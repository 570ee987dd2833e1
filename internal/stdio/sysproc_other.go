//go:build unix && !linux

package stdio

import (
	"errors"
	"syscall"
)

// sysProcAttr puts the server in its own process group, so that stopping it reaches whatever it
// started.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// applyLimits needs prlimit(2), which only Linux has.
func applyLimits(pid int, l Limits) error {
	if l.Memory == 0 && l.OpenFiles == 0 {
		return nil
	}
	return errors.New("resource limits need Linux (prlimit); the process runs without them")
}

package stdio

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the server in its own process group, so that stopping it reaches whatever it
// started (npx starts node, uvx starts python), and has the kernel SIGKILL it if vmcp dies
// without stopping it. Pdeathsig fires when the forking OS thread exits; Go keeps its threads
// alive unless a goroutine exits while locked to one, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// applyLimits sets the resource limits on the started process with prlimit(2). It runs right
// after start, so the process may allocate a little before; everything it forks later inherits
// the limits.
func applyLimits(pid int, l Limits) error {
	set := func(resource int, v uint64, name string) error {
		if v == 0 {
			return nil
		}
		if err := unix.Prlimit(pid, resource, &unix.Rlimit{Cur: v, Max: v}, nil); err != nil {
			return fmt.Errorf("set %s limit: %w", name, err)
		}
		return nil
	}
	if err := set(unix.RLIMIT_DATA, l.Memory, "memory"); err != nil {
		return err
	}
	return set(unix.RLIMIT_NOFILE, l.OpenFiles, "open_files")
}

package harness

import "syscall"

// sysProcAttr puts the child in its own process group and has the kernel SIGKILL it when the
// test binary dies. Pdeathsig fires when the forking OS thread exits; Go keeps its threads
// alive unless a goroutine exits while locked to one, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

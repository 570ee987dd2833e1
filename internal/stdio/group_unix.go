//go:build unix

package stdio

import "syscall"

// signalGroup sends sig to the process group led by pid: the server and whatever it started.
func signalGroup(pid int, sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }

// sweepGroup kills what is left of an exited server's process group. A process group id is not
// reused while any member is alive, so this reaches only what the server started.
func sweepGroup(pid int) { signalGroup(pid, syscall.SIGKILL) }

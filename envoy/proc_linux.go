package envoy

import "syscall"

// sysProcAttr puts Envoy in its own process group, so a terminal's Ctrl-C reaches vmcp alone and
// vmcp stops Envoy in its own order, and has the kernel kill Envoy if vmcp dies without stopping
// it (a crash, SIGKILL), so no orphan keeps the ports. Pdeathsig fires when the OS thread that
// started Envoy exits; Go's runtime keeps threads alive unless a goroutine that locked its thread
// exits, which Start's callers do not do. SIGKILL, not SIGTERM: nobody is left to escalate.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

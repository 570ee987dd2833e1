//go:build unix && !linux

package envoy

import "syscall"

// sysProcAttr puts Envoy in its own process group, so a terminal's Ctrl-C reaches vmcp alone and
// vmcp stops Envoy in its own order. Only Linux can also have the kernel kill Envoy when vmcp
// dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

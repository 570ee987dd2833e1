//go:build unix && !linux

package harness

import "syscall"

// sysProcAttr puts the child in its own process group. Only Linux has Pdeathsig; elsewhere a
// killed test binary can leave its children running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

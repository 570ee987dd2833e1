//go:build unix

package envoy

import (
	"os"
	"syscall"
)

// terminate asks Envoy's whole process group to shut down (Envoy exits promptly on SIGTERM).
func terminate(p *os.Process) error { return signalGroup(p, syscall.SIGTERM) }

// kill ends Envoy's process group at once.
func kill(p *os.Process) error { return signalGroup(p, syscall.SIGKILL) }

// signalGroup signals the process group Start created (its id is Envoy's pid), so nothing Envoy
// may have spawned outlives it. It falls back to the process alone if the group is gone.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid, sig); err == nil {
		return nil
	}
	return p.Signal(sig)
}

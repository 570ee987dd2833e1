//go:build unix

package audit

import (
	"os"
	"syscall"
)

// lockExclusive takes a non-blocking advisory lock that the kernel drops when the process dies,
// so a crashed vmcp never leaves its spill directory locked.
func lockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

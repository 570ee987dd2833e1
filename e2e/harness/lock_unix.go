//go:build unix

package harness

import (
	"fmt"
	"os"
	"syscall"
)

// LockFile takes an flock(2) on the file at path (syscall.LOCK_EX or LOCK_SH) and returns what
// releases it. Test binaries running at once (go test ./... runs packages in parallel, and
// several people may test one checkout) share the installed npm and Python dependencies of e2e:
// an install holds the lock of the file that pins them exclusively, a run of what they installed
// holds it shared, so that no install runs under another or under a running client. `make
// e2e-deps` takes the same locks with flock(1) where it exists.
func LockFile(path string, how int) (unlock func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}

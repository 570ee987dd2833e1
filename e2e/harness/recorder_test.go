package harness

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// recorder stands in for a *testing.T whose failures must not fail the real test: it records
// Logf and Fatalf, and reports Failed as told. Anything else goes to the embedded real T.
type recorder struct {
	testing.TB
	failed bool

	mu     sync.Mutex
	logs   []string
	fatals []string
}

func (r *recorder) Helper()      {}
func (r *recorder) Failed() bool { return r.failed }

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// Fatalf ends the calling goroutine, as testing.T's does; run the code under test in its own
// goroutine.
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

// inGoroutine runs f on a fresh goroutine, so that a recorder's Fatalf ends only f.
func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

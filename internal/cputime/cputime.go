// Package cputime reports a benchmark's processor time per operation next to Go's wall-clock
// ns/op. On a shared build machine other processes stretch wall-clock time several times over;
// the processor time a benchmark's own process used is not stretched, and since it also counts
// the garbage collector's work on other cores, it does not understate the cost either.
package cputime

import "testing"

// Start begins measuring, after a benchmark's setup; the function it returns, called after the
// benchmark loop, reports the process's processor time per operation as "cpu-ns/op".
func Start(b *testing.B) func() {
	start, ok := used()
	return func() {
		end, ok2 := used()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

package cputime

import (
	"strings"
	"testing"
)

func TestABusyBenchmarkReportsItsProcessorTime(t *testing.T) {
	r := testing.Benchmark(func(b *testing.B) {
		stop := Start(b)
		x := 0
		for b.Loop() {
			for i := range 100000 {
				x += i
			}
		}
		stop()
		_ = x
	})
	cpu, ok := r.Extra["cpu-ns/op"]
	if !ok {
		t.Fatalf("no cpu-ns/op in %s", r)
	}
	// A loop of 100,000 additions takes some microseconds of processor time, and never more
	// than a second.
	if cpu < 1000 || cpu > 1e9 {
		t.Errorf("cpu-ns/op = %v, outside any plausible range", cpu)
	}
	if !strings.Contains(r.String(), "cpu-ns/op") {
		t.Errorf("result line %q lacks the metric", r)
	}
}

//go:build !unix

package cputime

import "time"

// used is unknown here; benchmarks then report wall-clock time only.
func used() (time.Duration, bool) { return 0, false }

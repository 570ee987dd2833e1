//go:build !unix

package audit

import "os"

// Elsewhere the directory is not locked; keep one spill directory per process.
func lockExclusive(*os.File) error { return nil }

func unlock(*os.File) {}

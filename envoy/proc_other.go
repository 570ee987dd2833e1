//go:build !unix

package envoy

import (
	"os"
	"syscall"
)

// Envoy is built for Linux and macOS; elsewhere vmcp can still start it but only kill it.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func terminate(p *os.Process) error { return p.Kill() }

func kill(p *os.Process) error { return p.Kill() }

//go:build unix

package envoy

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestStopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	// A stand-in that ignores SIGTERM and has a child of its own, to see Stop escalate and take
	// the whole process group down. The real Envoy exits on SIGTERM, as the tests above show.
	script := filepath.Join(t.TempDir(), "stubborn")
	body := "#!/bin/sh\ntrap '' TERM\necho started\nsleep 300 &\nwait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := Start(t.Context(), script, "unused.yaml", "127.0.0.1:1", zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range logs.AllUntimed() {
				t.Log(e.Message, e.ContextMap())
			}
		}
	})
	// SIGTERM before the trap is set would end the script at once.
	eventually(t, 10*time.Second, "the script to set its trap", func() bool {
		return logs.FilterField(zap.String("envoy", "started")).Len() > 0
	})
	p.stopTimeout = 200 * time.Millisecond // the real grace period would only slow the test
	start := time.Now()
	err = p.Stop()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Stop = %v, want the killed process's error", err)
	}
	if waited := time.Since(start); waited < p.stopTimeout {
		t.Errorf("killed after %v, before the %v grace period", waited, p.stopTimeout)
	}
	// The group kill reached the child too: otherwise it would hold the output pipe open and
	// Stop would not have returned at all.
	if err := syscall.Kill(p.Pid(), 0); err == nil {
		t.Errorf("process %d still exists", p.Pid())
	}
}

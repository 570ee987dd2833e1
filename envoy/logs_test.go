package envoy

import (
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestForwardLogsOneEventPerLine(t *testing.T) {
	long := strings.Repeat("x", maxLogLine+10)
	tests := []struct {
		name          string
		in            string
		wantLevel     zapcore.Level
		wantEnvoy     string
		wantComponent string
		wantTruncated bool
	}{
		{"an info line", "[info][main] starting main dispatch loop\n", zapcore.InfoLevel, "starting main dispatch loop", "main", false},
		{"a warning", "[warning][config] gRPC config: initial fetch timed out\n", zapcore.WarnLevel, "gRPC config: initial fetch timed out", "config", false},
		{"a critical line stays at error, never fatal", "[critical][assert] assert failure\n", zapcore.ErrorLevel, "assert failure", "assert", false},
		{"a debug line", "[debug][upstream] dns resolution\n", zapcore.DebugLevel, "dns resolution", "upstream", false},
		{"the startup extension list is demoted", "[info][main]   envoy.filters.http: envoy.buffer\n", zapcore.DebugLevel, "  envoy.filters.http: envoy.buffer", "main", false},
		{"a line in no known format", "Caught Segmentation fault, suspect faulting address 0x0\n", zapcore.InfoLevel, "Caught Segmentation fault, suspect faulting address 0x0", "", false},
		{"a last line without a newline", "[error][main] bye", zapcore.ErrorLevel, "bye", "main", false},
		{"a line longer than the limit", "[info][admin] " + long + "\n", zapcore.InfoLevel, ("[info][admin] " + long)[len("[info][admin] "):maxLogLine], "admin", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			forward(strings.NewReader(tt.in), zap.New(core))
			entries := logs.AllUntimed()
			if len(entries) != 1 {
				t.Fatalf("got %d events, want 1", len(entries))
			}
			e := entries[0]
			fields := e.ContextMap()
			if e.Level != tt.wantLevel {
				t.Errorf("level = %v, want %v", e.Level, tt.wantLevel)
			}
			if fields["envoy"] != tt.wantEnvoy {
				t.Errorf("envoy = %.80q…, want %.80q…", fields["envoy"], tt.wantEnvoy)
			}
			if c, _ := fields["component"].(string); c != tt.wantComponent {
				t.Errorf("component = %q, want %q", c, tt.wantComponent)
			}
			if tr, _ := fields["truncated"].(bool); tr != tt.wantTruncated {
				t.Errorf("truncated = %v, want %v", tr, tt.wantTruncated)
			}
		})
	}
}

func TestForwardKeepsReadingAfterALongLine(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	in := "[info][main] " + strings.Repeat("y", 3*maxLogLine) + "\n[info][main] next\n"
	forward(strings.NewReader(in), zap.New(core))
	entries := logs.AllUntimed()
	if len(entries) != 2 || entries[1].ContextMap()["envoy"] != "next" {
		t.Fatalf("got %d events; the line after a long one was lost", len(entries))
	}
}

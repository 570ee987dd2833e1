package envoy

import (
	"bufio"
	"io"
	"regexp"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logFormat is Envoy's --log-format: spdlog level and logger name in brackets, then the message.
// The timestamp is left to zap.
const logFormat = "[%l][%n] %v"

// maxLogLine bounds one forwarded line; the rest of a longer line (a config dump at debug level)
// is dropped rather than buffered without limit.
const maxLogLine = 64 << 10

var logLineRE = regexp.MustCompile(`^\[(trace|debug|info|warning|error|critical)\]\[([^\]]*)\] ?(.*)$`)

// forward logs every line read from r as one zap event with the line in field "envoy", at the
// level Envoy gave it. It reads until EOF even when lines are too long, so Envoy never blocks on
// a full pipe.
func forward(r io.Reader, log *zap.Logger) {
	br := bufio.NewReaderSize(r, 4096)
	var line []byte
	truncated := false
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(chunk) > 0 {
			if room := maxLogLine - len(line); room >= len(chunk) {
				line = append(line, chunk...)
			} else {
				line = append(line, chunk[:max(room, 0)]...)
				truncated = true
			}
		}
		if err != nil {
			if len(line) > 0 {
				emit(log, string(line), truncated)
			}
			return
		}
		if isPrefix {
			continue
		}
		emit(log, string(line), truncated)
		line, truncated = line[:0], false
	}
}

// emit logs one Envoy line. Lines not in logFormat (a crash backtrace written before logging is
// set up, an access log on stdout) are logged at info as they are.
func emit(log *zap.Logger, line string, truncated bool) {
	level, component, msg := zapcore.InfoLevel, "", line
	if m := logLineRE.FindStringSubmatch(line); m != nil {
		level, component, msg = envoyLevel(m[1]), m[2], m[3]
		// At startup Envoy lists its ~100 linked extensions and its header maps at info, as
		// indented lines under a heading; keep the heading, demote the list.
		if component == "main" && level == zapcore.InfoLevel && strings.HasPrefix(msg, "  ") {
			level = zapcore.DebugLevel
		}
	}
	ce := log.Check(level, "envoy")
	if ce == nil {
		return
	}
	fields := []zap.Field{zap.String("envoy", msg)}
	if component != "" {
		fields = append(fields, zap.String("component", component))
	}
	if truncated {
		fields = append(fields, zap.Bool("truncated", true))
	}
	ce.Write(fields...)
}

// envoyLevel maps spdlog levels to zap's. critical becomes error, never zap's panic or fatal
// levels, which would end vmcp.
func envoyLevel(l string) zapcore.Level {
	switch l {
	case "trace", "debug":
		return zapcore.DebugLevel
	case "warning":
		return zapcore.WarnLevel
	case "error", "critical":
		return zapcore.ErrorLevel
	default:
		return zapcore.InfoLevel
	}
}

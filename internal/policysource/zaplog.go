package policysource

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/logging"
	"go.uber.org/zap"
)

// zapLogger lets OPA's plugins (bundle downloads, decision-log uploads) log through vmcp's zap
// logger: one structured line per event, like everything else vmcp logs.
type zapLogger struct {
	log   *zap.Logger
	level logging.Level
}

func newZapLogger(log *zap.Logger) *zapLogger { return &zapLogger{log: log, level: logging.Info} }

func (l *zapLogger) Debug(f string, a ...any) {
	if l.level >= logging.Debug {
		l.log.Debug(fmt.Sprintf(f, a...))
	}
}
func (l *zapLogger) Info(f string, a ...any)  { l.log.Info(fmt.Sprintf(f, a...)) }
func (l *zapLogger) Warn(f string, a ...any)  { l.log.Warn(fmt.Sprintf(f, a...)) }
func (l *zapLogger) Error(f string, a ...any) { l.log.Error(fmt.Sprintf(f, a...)) }

// WithFields adds OPA's context fields (plugin, name, …) as zap fields.
func (l *zapLogger) WithFields(fields map[string]any) logging.Logger {
	zf := make([]zap.Field, 0, len(fields))
	for k, v := range fields {
		zf = append(zf, zap.Any(k, v))
	}
	return &zapLogger{log: l.log.With(zf...), level: l.level}
}

func (l *zapLogger) GetLevel() logging.Level   { return l.level }
func (l *zapLogger) SetLevel(lv logging.Level) { l.level = lv }

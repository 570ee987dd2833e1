package audit

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logEvent writes ev as one structured line: typed fields, the empty ones left out. Arguments
// appear only as recorded, so the line never holds more than the store does (nothing in off
// mode, names only in keys mode, redacted values in full mode).
func logEvent(l *zap.Logger, ev *Event) {
	ce := l.Check(zapcore.InfoLevel, "audit event")
	if ce == nil {
		return
	}
	f := make([]zap.Field, 0, 24)
	f = append(f,
		zap.String("event_id", ev.ID),
		zap.Time("time", ev.Time),
		zap.String("kind", string(ev.Kind)),
	)
	str := func(k, v string) {
		if v != "" {
			f = append(f, zap.String(k, v))
		}
	}
	num := func(k string, v int64) {
		if v != 0 {
			f = append(f, zap.Int64(k, v))
		}
	}
	str("request_id", ev.RequestID)
	if ev.TraceID.IsValid() {
		f = append(f, zap.String("trace_id", ev.TraceID.String()), zap.String("span_id", ev.SpanID.String()))
	}
	str("sub", ev.Subject)
	str("email", ev.Email)
	str("client_id", ev.ClientID)
	str("virtual_server", ev.VirtualServer)
	str("connector", ev.Connector)
	str("method", ev.Method)
	str("target", ev.Target)
	str("decision", ev.Decision)
	str("policy", ev.Policy)
	str("reason", ev.Reason)
	str("policy_revision", ev.PolicyRevision)
	str("decision_id", ev.DecisionID)
	str("outcome", ev.Outcome)
	num("error_code", int64(ev.ErrorCode))
	num("upstream_status", int64(ev.UpstreamStatus))
	num("latency_us", ev.LatencyMicros)
	num("bytes_in", ev.BytesIn)
	num("bytes_out", ev.BytesOut)
	if ev.Arguments != nil {
		f = append(f, zap.Any("arguments", ev.Arguments))
	}
	ce.Write(f...)
}

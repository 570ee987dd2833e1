package tracing

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Handler traces the requests next serves on vmcp's HTTP listener — the aggregator, OAuth, the
// connect flow, the console — as server spans continuing the traceparent Envoy sent. A span is
// named "METHOD pattern" after the ServeMux pattern that served it; the aggregator renames its
// spans after the MCP method. Paths for which skip is true (health and metrics probes) are not
// traced. With tracing off it returns next itself.
func Handler(next http.Handler, skip func(path string) bool) http.Handler {
	if !Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := active.Load()
		if p == nil || skip != nil && skip(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, s := p.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("url.path", r.URL.Path),
			))
		defer s.End()
		if id := r.Header.Get("X-Request-Id"); id != "" {
			s.SetAttributes(RequestID(id))
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)
		// ServeMux sets Pattern on the request it was handed: the route, without ids in it. A
		// handler that named the span itself (the aggregator, after the MCP method) keeps its name.
		if route := strings.TrimPrefix(r.Pattern, r.Method+" "); route != "" {
			if ro, ok := s.(sdktrace.ReadOnlySpan); !ok || ro.Name() == r.Method {
				s.SetName(r.Method + " " + route)
			}
			s.SetAttributes(attribute.String("http.route", route))
		}
		s.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			s.SetStatus(codes.Error, "")
		}
	})
}

// RequestID is the attribute that joins a span to Envoy's access log, vmcp's log lines and the
// audit trail: the request's x-request-id, as the HTTP conventions name request headers.
func RequestID(id string) attribute.KeyValue {
	return attribute.StringSlice("http.request.header.x-request-id", []string{id})
}

// statusWriter notes the status of an answer for the span.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes on: SSE answers flush each event.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

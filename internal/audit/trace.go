package audit

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// maxLinks bounds the links of one write span (the SDK's default limit per span).
const maxLinks = 128

// startWriteSpan begins the span of one batch written to the store, linked to the spans of the
// requests its events record: the write happens off the request path, in a trace of its own.
// Events carry trace ids only when tracing is on; a batch without any gets no span.
func startWriteSpan(ctx context.Context, batch []Event) (context.Context, trace.Span) {
	var links []trace.Link
	for i := range batch {
		if len(links) == maxLinks {
			break
		}
		ev := &batch[i]
		if !ev.TraceID.IsValid() || !ev.SpanID.IsValid() {
			continue
		}
		links = append(links, trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: ev.TraceID, SpanID: ev.SpanID, Remote: true})})
	}
	if links == nil {
		return ctx, nil
	}
	return otel.Tracer("github.com/vmcp-dev/vmcp/internal/audit").Start(ctx, "audit write",
		trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("vmcp.audit.events", len(batch))))
}

// endWriteSpan ends a write span (nil: none), failed when the store refused the batch.
func endWriteSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, "store write failed")
	}
	span.End()
}

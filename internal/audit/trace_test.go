package audit

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A batch written to the store is a span of its own, linked to the requests whose events it
// holds; without trace ids (tracing off) there is no span at all.
func TestStoreWritesAreLinkedToTheRequestsSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	_, span := startWriteSpan(context.Background(), []Event{{ID: "a"}, {ID: "b"}})
	if span != nil {
		t.Fatal("a span for a batch without trace ids")
	}
	batch := []Event{
		{ID: "a", TraceID: trace.TraceID{0x4b, 0xf9, 15: 0x36}, SpanID: trace.SpanID{0x00, 0xf0, 7: 0xb7}},
		{ID: "b"},
		{ID: "c", TraceID: trace.TraceID{1, 15: 1}, SpanID: trace.SpanID{2, 7: 2}},
	}
	_, span = startWriteSpan(context.Background(), batch)
	endWriteSpan(span, nil)
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans", len(ended))
	}
	links := ended[0].Links()
	if len(links) != 2 || links[0].SpanContext.TraceID() != batch[0].TraceID || links[1].SpanContext.SpanID() != batch[2].SpanID {
		t.Errorf("links %v", links)
	}
}

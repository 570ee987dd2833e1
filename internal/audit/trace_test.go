package audit

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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
		{ID: "a", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"},
		{ID: "b"},
		{ID: "c", TraceID: "11111111111111111111111111111111", SpanID: "2222222222222222"},
	}
	_, span = startWriteSpan(context.Background(), batch)
	endWriteSpan(span, nil)
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans", len(ended))
	}
	links := ended[0].Links()
	if len(links) != 2 || links[0].SpanContext.TraceID().String() != batch[0].TraceID || links[1].SpanContext.SpanID().String() != batch[2].SpanID {
		t.Errorf("links %v", links)
	}
}

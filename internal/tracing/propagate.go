package tracing

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

// traceparent is the W3C Trace Context header (and gRPC metadata key) Envoy sends.
const traceparent = "traceparent"

// StartGRPC begins the server span of one gRPC call Envoy made (ext_authz Check, ext_proc
// Process), named service/method as the RPC conventions say. Its parent is the trace context in
// the call's metadata — Envoy's own client span of the call — or, when the metadata has none,
// the one in headers, the HTTP request headers the call is about.
func StartGRPC(ctx context.Context, service, method string, headers map[string]string) (context.Context, Span) {
	p := active.Load()
	if p == nil {
		return ctx, Span{}
	}
	var parent context.Context
	if tp := metadata.ValueFromIncomingContext(ctx, traceparent); len(tp) > 0 {
		parent = propagator.Extract(ctx, metadataCarrier{ctx: ctx, traceparent: tp[0]})
	} else {
		parent = propagator.Extract(ctx, mapCarrier(headers))
	}
	ctx, s := p.tracer.Start(parent, service+"/"+method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", service),
			attribute.String("rpc.method", method),
		))
	return ctx, Span{s}
}

// Inject writes ctx's trace context into h (traceparent), for a request vmcp sends: Envoy's
// egress listener continues the trace from it and passes it on to the connector.
func Inject(ctx context.Context, h http.Header) {
	if active.Load() == nil {
		return
	}
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// metadataCarrier reads W3C trace context from a gRPC call's incoming metadata, key by key
// (without copying the whole metadata). traceparent is the value StartGRPC already read.
type metadataCarrier struct {
	ctx         context.Context
	traceparent string
}

func (c metadataCarrier) Get(key string) string {
	if key == traceparent {
		return c.traceparent
	}
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set is not used: vmcp only reads the context Envoy sends.
func (c metadataCarrier) Set(string, string) {}

func (c metadataCarrier) Keys() []string { return []string{traceparent, "tracestate"} }

// mapCarrier reads W3C trace context from the header map of an ext_authz CheckRequest (keys
// lower case, as Envoy sends them).
type mapCarrier map[string]string

func (c mapCarrier) Get(key string) string { return c[strings.ToLower(key)] }

func (c mapCarrier) Set(key, value string) { c[strings.ToLower(key)] = value }

func (c mapCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

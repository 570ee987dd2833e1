// Package tracing continues the OpenTelemetry traces Envoy starts into vmcp's own components and
// exports their spans over OTLP/gRPC.
//
// Off (the default) it costs the request path one atomic load per instrumented function and no
// allocation: Start returns the context unchanged and a zero Span whose methods do nothing. On,
// each component continues the W3C trace context it is handed — gRPC metadata for ext_authz and
// ext_proc (Envoy's client span of that call), request headers for vmcp's HTTP listener — and the
// aggregator passes it on to the connectors it calls through Envoy's egress listener.
//
// Span names and attributes follow the OpenTelemetry semantic conventions for MCP and GenAI tool
// calls (mcp.method.name, gen_ai.tool.name, mcp.session.id, …); vmcp's own attributes are under
// vmcp.*. Session ids are hashed, and the caller appears (enduser.id) only when configured.
package tracing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// InstrumentationName names vmcp's tracer (the instrumentation scope of its spans).
const InstrumentationName = "github.com/vmcp-dev/vmcp"

// Options configure the exporter.
type Options struct {
	// Endpoint is the OTLP/gRPC collector's host:port (plaintext). Empty: tracing stays off.
	Endpoint string
	// SamplingRatio is the share of new traces sampled; a traced parent's decision is kept.
	SamplingRatio float64
	// IncludeUser puts the caller's subject on spans as enduser.id.
	IncludeUser bool
	// Version is vmcp's version (service.version).
	Version string
	// Log receives the exporter's errors (a collector that is down, say).
	Log *zap.Logger
}

// provider is what the instrumented code needs while tracing is on.
type provider struct {
	tracer      trace.Tracer
	includeUser bool
}

// active is nil while tracing is off; every instrumented function checks it first.
var active atomic.Pointer[provider]

// Enabled reports whether spans are being made.
func Enabled() bool { return active.Load() != nil }

// propagator is W3C Trace Context, what Envoy's OpenTelemetry tracer reads and writes.
var propagator = propagation.TraceContext{}

// Setup starts exporting spans as o says and returns the function that flushes and stops the
// exporter. With no endpoint it does nothing, and the returned function neither.
func Setup(ctx context.Context, o Options) (shutdown func(context.Context) error, err error) {
	if o.Endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(o.Endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", "vmcp"),
		attribute.String("service.version", o.Version),
	))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		// Envoy samples at the edge with the same ratio and passes its decision on in
		// traceparent; vmcp follows it, so a trace is whole or absent.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SamplingRatio))),
	)
	if log := o.Log; log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("tracing: export failed", zap.String("endpoint", o.Endpoint), zap.Error(err))
		}))
	}
	// Code that uses the global API (the audit pipeline's store writes) exports through it too.
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	active.Store(&provider{tracer: tp.Tracer(InstrumentationName), includeUser: o.IncludeUser})
	return func(ctx context.Context) error {
		active.Store(nil)
		return tp.Shutdown(ctx)
	}, nil
}

// Span is one of vmcp's spans. The zero Span (tracing off) does nothing and costs nothing; its
// methods take fixed arguments so that a call site allocates nothing either.
type Span struct{ s trace.Span }

// Start begins an internal span, a child of the span in ctx.
func Start(ctx context.Context, name string) (context.Context, Span) {
	return start(ctx, name, trace.SpanKindInternal)
}

// StartClient begins a span for a call vmcp makes to another service.
func StartClient(ctx context.Context, name string) (context.Context, Span) {
	return start(ctx, name, trace.SpanKindClient)
}

func start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, Span) {
	p := active.Load()
	if p == nil {
		return ctx, Span{}
	}
	ctx, s := p.tracer.Start(ctx, name, trace.WithSpanKind(kind))
	return ctx, Span{s}
}

// FromContext returns the span ctx carries (the zero Span when tracing is off or it has none).
func FromContext(ctx context.Context) Span {
	if active.Load() == nil {
		return Span{}
	}
	s := trace.SpanFromContext(ctx)
	if !s.SpanContext().IsValid() {
		return Span{}
	}
	return Span{s}
}

// End ends the span.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// Recording reports whether the span is sampled: attributes set on it are kept.
func (s Span) Recording() bool { return s.s != nil && s.s.IsRecording() }

// Set adds attributes to a recording span.
func (s Span) Set(kv ...attribute.KeyValue) {
	if !s.Recording() {
		return
	}
	// Copied, so that kv never escapes and the caller's variadic array stays on its stack.
	s.s.SetAttributes(slices.Clone(kv)...)
}

// SetName renames the span, once what it is became known (the MCP method of an HTTP request).
func (s Span) SetName(name string) {
	if s.Recording() {
		s.s.SetName(name)
	}
}

// Fail marks the span failed with errType (error.type) and a short description, which must
// hold no secret.
func (s Span) Fail(errType, description string) {
	if !s.Recording() {
		return
	}
	s.s.SetAttributes(attribute.String("error.type", errType))
	s.s.SetStatus(codes.Error, description)
}

// Error marks the span failed by err. Only the error's type is recorded, with err's message:
// callers pass errors whose text names no credential (vmcp's errors never quote one).
func (s Span) Error(err error) {
	if err == nil || !s.Recording() {
		return
	}
	errType := "error"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		errType = "timeout"
	case errors.Is(err, context.Canceled):
		errType = "canceled"
	}
	s.s.SetAttributes(attribute.String("error.type", errType))
	s.s.SetStatus(codes.Error, err.Error())
}

// Session records an MCP session id, hashed: the id itself lets its holder act in the session.
func (s Span) Session(id string) {
	if id == "" || !s.Recording() {
		return
	}
	s.s.SetAttributes(attribute.String("mcp.session.id", HashSession(id)))
}

// User records the caller's subject as enduser.id when tracing is configured to include users.
func (s Span) User(subject string) {
	if subject == "" || !s.Recording() {
		return
	}
	if p := active.Load(); p != nil && p.includeUser {
		s.s.SetAttributes(attribute.String("enduser.id", subject))
	}
}

// IDs returns the span's trace and span id in hex ("" when there is no span).
func (s Span) IDs() (traceID, spanID string) {
	if s.s == nil {
		return "", ""
	}
	sc := s.s.SpanContext()
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), sc.SpanID().String()
}

// HashSession is the value mcp.session.id carries: the first 16 bytes of the id's SHA-256, in
// hex. The same session gives the same value in every span, and the value opens nothing.
func HashSession(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// StartFanOut begins the span of one connector's part in a fan-out (every connector of a
// virtual server asked in parallel): a child of the request's span, one per connector.
func StartFanOut(ctx context.Context, connector string) (context.Context, Span) {
	if active.Load() == nil {
		return ctx, Span{}
	}
	ctx, s := start(ctx, "fan-out "+connector, trace.SpanKindInternal)
	s.Set(attribute.String("vmcp.connector", connector))
	return ctx, s
}

// StartCredential begins the span of resolving a per-user credential for a connector (the
// user's OAuth token, a token exchange or an identity assertion; cached or not).
func StartCredential(ctx context.Context, connector, kind string) (context.Context, Span) {
	if active.Load() == nil {
		return ctx, Span{}
	}
	ctx, s := start(ctx, "credential "+connector, trace.SpanKindInternal)
	s.Set(attribute.String("vmcp.connector", connector), attribute.String("vmcp.credential.type", kind))
	return ctx, s
}

// Cached records whether a credential (or list) came from vmcp's cache.
func (s Span) Cached(hit bool) {
	if s.Recording() {
		s.s.SetAttributes(attribute.Bool("vmcp.cache.hit", hit))
	}
}

// Use turns tracing on with tp instead of an OTLP exporter, for tests and benchmarks, and
// returns the function that turns it off again.
func Use(tp trace.TracerProvider, includeUser bool) (restore func()) {
	prev := active.Swap(&provider{tracer: tp.Tracer(InstrumentationName), includeUser: includeUser})
	return func() { active.Store(prev) }
}

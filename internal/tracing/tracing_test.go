package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
	sampled     = "00-" + parentTrace + "-" + parentSpan + "-01"
	unsampled   = "00-" + parentTrace + "-" + parentSpan + "-00"
)

// recording turns tracing on for one test with an in-memory recorder, sampling as vmcp does.
func recording(t *testing.T, includeUser bool) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	t.Cleanup(Use(tp, includeUser))
	return rec
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// Off, the request path pays nothing: no allocation in any instrumented call.
func TestOffAllocatesNothing(t *testing.T) {
	if Enabled() {
		t.Fatal("tracing is on without Setup")
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("traceparent", sampled))
	hdrs := map[string]string{"traceparent": sampled}
	h := http.Header{}
	ev := &audit.Event{Kind: audit.KindMCP, Method: "tools/call", Target: "notes__add", RequestID: "r1", Subject: "alice"}
	allocs := testing.AllocsPerRun(1000, func() {
		c, span := StartGRPC(ctx, "envoy.service.auth.v3.Authorization", "Check", hdrs)
		c2, child := StartFanOut(c, "notes")
		child.Set(attribute.String("k", "v"), attribute.Int("n", 1))
		child.Error(context.Canceled)
		child.End()
		_, cred := StartCredential(c2, "notes", "oauth")
		cred.Cached(true)
		cred.End()
		Inject(c2, h)
		FromContext(c).Session("session-id")
		Audited(c, ev)
		span.Audited(ev)
		span.End()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request with tracing off", allocs)
	}
	if len(h) != 0 || ev.TraceID.IsValid() {
		t.Errorf("tracing off wrote %v, trace id %q", h, ev.TraceID)
	}
}

// Check and Process continue the context of Envoy's call (gRPC metadata) rather than the client's
// headers, and fall back to the headers when the metadata has none.
func TestStartGRPCContinuesEnvoysCall(t *testing.T) {
	rec := recording(t, false)
	const other = "00-11111111111111111111111111111111-2222222222222222-01"
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("traceparent", sampled))
	_, s := StartGRPC(ctx, "svc", "Check", map[string]string{"traceparent": other})
	s.End()
	_, s = StartGRPC(context.Background(), "svc", "Check", map[string]string{"traceparent": other})
	s.End()
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if got := spans[0].Parent(); got.TraceID().String() != parentTrace || got.SpanID().String() != parentSpan {
		t.Errorf("from metadata: parent %v", got)
	}
	if got := spans[1].Parent().TraceID().String(); got != "11111111111111111111111111111111" {
		t.Errorf("from headers: parent trace %s", got)
	}
	if spans[0].Name() != "svc/Check" || spans[0].SpanKind() != trace.SpanKindServer {
		t.Errorf("name %q kind %v", spans[0].Name(), spans[0].SpanKind())
	}
}

// A caller's decision not to sample is kept: no span is recorded, yet the audit event still gets
// the trace id, so its log line joins whatever the caller recorded.
func TestUnsampledParentIsNotRecorded(t *testing.T) {
	rec := recording(t, false)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("traceparent", unsampled))
	ctx, s := StartGRPC(ctx, "svc", "Process", nil)
	ev := audit.Event{Method: "tools/list"}
	Audited(ctx, &ev)
	s.End()
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans recorded under an unsampled parent", n)
	}
	if ev.TraceID.String() != parentTrace {
		t.Errorf("trace id %q", ev.TraceID)
	}
}

func TestAuditedPutsTheMCPConventionsOnTheSpan(t *testing.T) {
	rec := recording(t, false)
	ctx, s := Start(context.Background(), "x")
	ev := audit.Event{Kind: audit.KindMCP, Method: "tools/call", Target: "notes__add_note", RequestID: "req-1",
		VirtualServer: "demo", Connector: "notes", Subject: "alice", Outcome: audit.OutcomeError, ErrorCode: -32602}
	FromContext(ctx).Session("sealed-session-id")
	Audited(ctx, &ev)
	s.End()
	span := rec.Ended()[0]
	a := attrs(span)
	want := map[attribute.Key]string{
		"mcp.method.name": "tools/call", "gen_ai.tool.name": "notes__add_note", "gen_ai.operation.name": "execute_tool",
		"vmcp.virtual_server": "demo", "vmcp.connector": "notes", "vmcp.outcome": "error",
		"rpc.response.status_code": "-32602", "error.type": "-32602", "mcp.session.id": HashSession("sealed-session-id"),
	}
	for k, v := range want {
		if got := a[k].AsString(); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := a["http.request.header.x-request-id"].AsStringSlice(); len(got) != 1 || got[0] != "req-1" {
		t.Errorf("x-request-id %v", got)
	}
	if _, ok := a["enduser.id"]; ok {
		t.Error("the caller is on the span without include_user")
	}
	if strings.Contains(a["mcp.session.id"].AsString(), "sealed") {
		t.Error("the session id is on the span in clear")
	}
	if tid, sid := span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String(); ev.TraceID.String() != tid || ev.SpanID.String() != sid {
		t.Errorf("event ids %s/%s, span %s/%s", ev.TraceID, ev.SpanID, tid, sid)
	}
}

func TestAuthzDecisionAndUserWhenConfigured(t *testing.T) {
	rec := recording(t, true)
	_, s := Start(context.Background(), "check")
	s.Audited(&audit.Event{Kind: audit.KindAuthz, Decision: "deny", Reason: "rate limited", Policy: "p", Subject: "alice", Outcome: audit.OutcomeDenied})
	s.End()
	a := attrs(rec.Ended()[0])
	if a["vmcp.authz.decision"].AsString() != "deny" || a["vmcp.authz.reason"].AsString() != "rate limited" || a["enduser.id"].AsString() != "alice" {
		t.Errorf("attributes %v", a)
	}
	if _, ok := a["vmcp.outcome"]; ok {
		t.Error("an authz span repeats the decision as an outcome")
	}
}

// The HTTP listener continues Envoy's traceparent and names its spans after the route; the
// aggregator's own name (the MCP method) is kept; probes are not traced.
func TestHandler(t *testing.T) {
	rec := recording(t, false)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		FromContext(r.Context()).SetName(MCPName("tools/call", "notes__add"))
		Inject(r.Context(), w.Header())
	})
	h := Handler(mux, func(p string) bool { return p == "/healthz" })
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPost, "/oauth/token", nil),
		httptest.NewRequest(http.MethodGet, "/healthz", nil),
		httptest.NewRequest(http.MethodPost, "/v/demo/mcp", nil),
	} {
		req.Header.Set("traceparent", sampled)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if req.URL.Path == "/v/demo/mcp" && !strings.Contains(w.Header().Get("traceparent"), parentTrace) {
			t.Errorf("the handler's context is not the caller's trace: %q", w.Header().Get("traceparent"))
		}
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2 (the probe untraced)", len(spans))
	}
	if spans[0].Name() != "POST /oauth/token" || attrs(spans[0])["http.response.status_code"].AsInt64() != 400 {
		t.Errorf("oauth span %q %v", spans[0].Name(), attrs(spans[0]))
	}
	if spans[1].Name() != "tools/call notes__add" || spans[1].Parent().TraceID().String() != parentTrace {
		t.Errorf("aggregator span %q parent %v", spans[1].Name(), spans[1].Parent())
	}
}

// A span shows what the audit record stores, never more: credentials in a resource URI or a
// reason are redacted on the span as they are in the trail, span names included.
func TestAuditedRedactsWhatTheAuditTrailRedacts(t *testing.T) {
	rec := recording(t, false)
	const password, token = "hunter2hunter2", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
	ctx, s := Start(context.Background(), "x")
	FromContext(ctx).SetName(MCPName("resources/read", "https://alice:"+password+"@files.example.com/q3"))
	Audited(ctx, &audit.Event{Kind: audit.KindMCP, Method: "resources/read", Target: "https://alice:" + password + "@files.example.com/q3",
		Outcome: audit.OutcomeUpstream, Reason: "upstream said: Authorization: Bearer " + token})
	s.End()
	_, s = Start(context.Background(), "check")
	s.Audited(&audit.Event{Kind: audit.KindAuthz, Decision: "deny", Reason: "refused token " + token, Outcome: audit.OutcomeDenied})
	s.End()
	for _, span := range rec.Ended() {
		shown := span.Name() + " " + span.Status().Description
		for k, v := range attrs(span) {
			shown += " " + string(k) + "=" + v.String()
		}
		if strings.Contains(shown, password) || strings.Contains(shown, token) {
			t.Errorf("span %q shows a credential: %s", span.Name(), shown)
		}
		if !strings.Contains(shown, audit.Redacted) {
			t.Errorf("span %q: nothing redacted in %s", span.Name(), shown)
		}
	}
}

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// receivedSpan is one span as the collector received it, ids in hex.
type receivedSpan struct {
	service, name             string
	traceID, spanID, parentID string
	kind                      tracepb.Span_SpanKind
	attrs                     map[string]string
}

func (s receivedSpan) String() string {
	return fmt.Sprintf("%s %q span %s parent %s %v", s.service, s.name, s.spanID, s.parentID, s.attrs)
}

// traceCollector is an OTLP/gRPC trace receiver on loopback: what Envoy and vmcp export to.
type traceCollector struct {
	collectortracepb.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans []receivedSpan
}

func startTraceCollector(t *testing.T) *traceCollector {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &traceCollector{addr: lis.Addr().String()}
	srv := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(srv, c)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return c
}

func (c *traceCollector) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, a := range sp.GetAttributes() {
					v := a.GetValue()
					switch {
					case v.GetArrayValue() != nil && len(v.GetArrayValue().GetValues()) > 0:
						attrs[a.GetKey()] = v.GetArrayValue().GetValues()[0].GetStringValue()
					case v.GetStringValue() != "":
						attrs[a.GetKey()] = v.GetStringValue()
					case v.GetIntValue() != 0:
						attrs[a.GetKey()] = fmt.Sprint(v.GetIntValue())
					default:
						attrs[a.GetKey()] = fmt.Sprint(v.GetBoolValue())
					}
				}
				c.spans = append(c.spans, receivedSpan{
					service: service, name: sp.GetName(), kind: sp.GetKind(), attrs: attrs,
					traceID: hex.EncodeToString(sp.GetTraceId()), spanID: hex.EncodeToString(sp.GetSpanId()),
					parentID: hex.EncodeToString(sp.GetParentSpanId()),
				})
			}
		}
	}
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

// trace returns the spans received so far of one trace.
func (c *traceCollector) trace(traceID string) []receivedSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []receivedSpan
	for _, s := range c.spans {
		if s.traceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// traceparentTransport sends the W3C traceparent a test sets, as a traced client would.
type traceparentTransport struct {
	value atomic.Value // string
	base  http.RoundTripper
}

func (t *traceparentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if v, _ := t.value.Load().(string); v != "" {
		r = r.Clone(r.Context())
		r.Header.Set("traceparent", v)
	}
	return t.base.RoundTrip(r)
}

// newTraceparent returns a sampled traceparent of a new trace, and its trace and span id.
func newTraceparent() (header, traceID, spanID string) {
	var b [24]byte
	rand.Read(b[:])
	traceID, spanID = hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
	return "00-" + traceID + "-" + spanID + "-01", traceID, spanID
}

// A traced client's call goes through Envoy and vmcp in one trace: Envoy continues the client's
// traceparent, vmcp's ext_authz Check is a child of Envoy's call to it with the decision on it,
// and the connector is handed a traceparent of the same trace; a fan-out tools/list has one
// child span per connector. Envoy and vmcp both export to a real OTLP/gRPC receiver. New traces
// are sampled at a ratio of 0: every span received is there because the client's traceparent
// said "sampled", and Envoy and vmcp kept the caller's decision.
func TestTracesGoThroughEnvoyAndVMCP(t *testing.T) {
	collector := startTraceCollector(t)
	s := startSystem(t, func(c *harness.Config) {
		c.Sections += fmt.Sprintf("observability:\n  tracing:\n    endpoint: %s\n    sampling_ratio: 0\n", collector.addr)
	})
	token := s.token("alice", "demo")
	tp := &traceparentTransport{base: edgeclient.Bearer{Token: token, Base: http.DefaultTransport}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-traced", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: s.url("demo"), HTTPClient: &http.Client{Transport: tp}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	t.Run("a routed tools/call", func(t *testing.T) {
		header, traceID, clientSpan := newTraceparent()
		tp.value.Store(header)
		defer tp.value.Store("")
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "notes__list_notes", Arguments: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
		// The connector was handed the trace: the same trace id, a span of Envoy's as parent.
		var connectorParent string
		for _, h := range s.notesSeen.all() {
			if v := h.Get("traceparent"); strings.Contains(v, "-"+traceID+"-") {
				connectorParent = strings.Split(v, "-")[2]
			}
		}
		if connectorParent == "" {
			t.Fatalf("the notes connector got no traceparent of trace %s", traceID)
		}
		harness.Eventually(t, 30*time.Second, func() error {
			spans := collector.trace(traceID)
			byID := map[string]receivedSpan{}
			for _, sp := range spans {
				byID[sp.spanID] = sp
			}
			var ingress, check, process *receivedSpan
			for i, sp := range spans {
				switch {
				case sp.service == "vmcp-envoy" && sp.parentID == clientSpan:
					ingress = &spans[i]
				case sp.service == "vmcp" && sp.name == "envoy.service.auth.v3.Authorization/Check":
					check = &spans[i]
				case sp.service == "vmcp" && sp.name == "envoy.service.ext_proc.v3.ExternalProcessor/Process":
					process = &spans[i]
				}
			}
			switch {
			case ingress == nil:
				return fmt.Errorf("no Envoy span continuing the client's span %s among %v", clientSpan, spans)
			case check == nil:
				return fmt.Errorf("no ext_authz Check span among %v", spans)
			case process == nil:
				return fmt.Errorf("no ext_proc span among %v", spans)
			}
			if p, ok := byID[check.parentID]; !ok || p.service != "vmcp-envoy" {
				return fmt.Errorf("the Check span's parent %s is not one of Envoy's spans: %v", check.parentID, spans)
			}
			if p, ok := byID[connectorParent]; !ok || p.service != "vmcp-envoy" {
				return fmt.Errorf("the connector's parent span %s is not one of Envoy's spans: %v", connectorParent, spans)
			}
			if check.attrs["vmcp.authz.decision"] != "allow" || check.attrs["vmcp.virtual_server"] != "demo" || check.attrs["http.request.header.x-request-id"] == "" {
				return fmt.Errorf("Check span attributes: %v", check.attrs)
			}
			if process.attrs["mcp.method.name"] != "tools/call" || process.attrs["gen_ai.tool.name"] != "notes__list_notes" || process.attrs["vmcp.connector"] != "notes" {
				return fmt.Errorf("ext_proc span attributes: %v", process.attrs)
			}
			if _, ok := check.attrs["enduser.id"]; ok {
				return fmt.Errorf("the caller is on a span though include_user is off: %v", check.attrs)
			}
			logTree(t, spans)
			return nil
		})
		// The request's audit log line carries the trace id: logs, traces and the audit trail join.
		harness.Eventually(t, 10*time.Second, func() error {
			for _, line := range strings.Split(s.vmcp.Output(), "\n") {
				if strings.Contains(line, "audit event") && strings.Contains(line, `"tools/call"`) && strings.Contains(line, `"trace_id": "`+traceID+`"`) {
					return nil
				}
			}
			return fmt.Errorf("no audit log line of the tools/call with trace_id %s", traceID)
		})
	})

	t.Run("a new trace at ratio 0 is not sampled", func(t *testing.T) {
		before := len(s.notesSeen.all())
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "notes__list_notes", Arguments: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
		seen := s.notesSeen.all()[before:]
		found := false
		for _, h := range seen {
			if v := h.Get("traceparent"); v != "" {
				found = true
				if !strings.HasSuffix(v, "-00") {
					t.Errorf("the connector got a sampled traceparent %q for a request without one at ratio 0", v)
				}
			}
		}
		if !found {
			t.Error("the connector got no traceparent: the trace is not propagated when it is not sampled")
		}
	})

	t.Run("a fan-out tools/list", func(t *testing.T) {
		header, traceID, _ := newTraceparent()
		tp.value.Store(header)
		defer tp.value.Store("")
		if _, err := cs.ListTools(ctx, nil); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 30*time.Second, func() error {
			spans := collector.trace(traceID)
			var list *receivedSpan
			for i, sp := range spans {
				if sp.service == "vmcp" && sp.name == "tools/list" && sp.kind == tracepb.Span_SPAN_KIND_SERVER {
					list = &spans[i]
				}
			}
			if list == nil {
				return fmt.Errorf("no tools/list span of the aggregator among %v", spans)
			}
			children := map[string]int{}
			for _, sp := range spans {
				if sp.parentID == list.spanID && strings.HasPrefix(sp.name, "fan-out ") {
					children[sp.attrs["vmcp.connector"]]++
				}
			}
			if children["notes"] != 1 || children["weather"] != 1 || len(children) != 2 {
				return fmt.Errorf("fan-out spans per connector under tools/list: %v (want one each for notes and weather) among %v", children, spans)
			}
			if list.attrs["mcp.method.name"] != "tools/list" || list.attrs["vmcp.virtual_server"] != "demo" {
				return fmt.Errorf("tools/list span attributes: %v", list.attrs)
			}
			// A session id (2025 revisions) is there only hashed: never the id a client could use.
			if sid, ok := list.attrs["mcp.session.id"]; ok && (len(sid) != 32 || cs.ID() != "" && strings.Contains(sid, cs.ID())) {
				return fmt.Errorf("mcp.session.id %q is not a hash of the session id", sid)
			}
			logTree(t, spans)
			return nil
		})
	})
}

// logTree logs a trace as the tree docs/tracing.md draws (go test -v shows it).
func logTree(t *testing.T, spans []receivedSpan) {
	t.Helper()
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.spanID] = true
	}
	var b strings.Builder
	var walk func(isChild func(receivedSpan) bool, indent string)
	walk = func(isChild func(receivedSpan) bool, indent string) {
		for _, s := range spans {
			if isChild(s) {
				fmt.Fprintf(&b, "%s%s  %s\n", indent, s.service, s.name)
				walk(func(c receivedSpan) bool { return c.parentID == s.spanID }, indent+"  ")
			}
		}
	}
	walk(func(s receivedSpan) bool { return !ids[s.parentID] }, "")
	t.Logf("trace:\n%s", b.String())
}

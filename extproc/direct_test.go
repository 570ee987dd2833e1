package extproc

import (
	"context"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	accesslogdatav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/envoynames"
	"github.com/vmcp-dev/vmcp/internal/headers"
)

// logEntry is the access log entry Envoy sends for a direct call: its request id, status,
// response code details, content type and what the answer readers put in vmcp.answer.
func logEntry(requestID string, status uint32, details, contentType string, answer map[string]any) *accesslogdatav3.HTTPAccessLogEntry {
	md := map[string]*structpb.Struct{}
	md[envoynames.RouteMetadata], _ = structpb.NewStruct(map[string]any{envoynames.RouteAwaitsOutcome: "1"})
	if answer != nil {
		md[envoynames.AnswerMetadata], _ = structpb.NewStruct(answer)
	}
	return &accesslogdatav3.HTTPAccessLogEntry{
		CommonProperties: &accesslogdatav3.AccessLogCommon{
			Metadata:                   &corev3.Metadata{FilterMetadata: md},
			TimeToLastDownstreamTxByte: durationpb.New(1500 * time.Microsecond),
		},
		Request: &accesslogdatav3.HTTPRequestProperties{RequestId: requestID},
		Response: &accesslogdatav3.HTTPResponseProperties{
			ResponseCode:        wrapperspb.UInt32(status),
			ResponseCodeDetails: details,
			ResponseHeaders:     map[string]string{"content-type": contentType},
			ResponseBodyBytes:   321,
		},
	}
}

func TestADirectCallsOutcomeIsReadFromItsLogEntry(t *testing.T) {
	for _, tc := range []struct {
		name           string
		entry          *accesslogdatav3.HTTPAccessLogEntry
		outcome        string
		code, upstream int
	}{
		{"a result", logEntry("r", 200, "via_upstream", "text/event-stream", map[string]any{"answered": true}), audit.OutcomeOK, 0, 0},
		{"a tool error", logEntry("r", 200, "via_upstream", "application/json", map[string]any{"answered": true, "is_error": true}), audit.OutcomeToolError, 0, 0},
		{"a JSON-RPC error", logEntry("r", 200, "via_upstream", "application/json", map[string]any{"answered": true, "error_code": -32602}), audit.OutcomeError, -32602, 0},
		{"a JSON-RPC error in a 400", logEntry("r", 400, "via_upstream", "application/json", map[string]any{"answered": true, "error_code": -32020}), audit.OutcomeError, -32020, 0},
		{"the connector's own 502", logEntry("r", 502, "via_upstream", "text/html", nil), audit.OutcomeUpstream, 0, 502},
		{"Envoy's reply for a connector that is down", logEntry("r", 200, "upstream_reset_before_response_started{connection_refused}", "application/json", nil), audit.OutcomeUpstream, 0, 503},
		{"Envoy's reply for a slow connector", logEntry("r", 200, "response_timeout", "application/json", nil), audit.OutcomeUpstream, 0, 504},
		// The answer readers read Envoy's own JSON-RPC error too: the connector still failed.
		{"Envoy's reply for a slow connector, as the readers saw it", logEntry("r", 200, "response_timeout", "application/json", map[string]any{"answered": true, "error_code": -32603}), audit.OutcomeUpstream, -32603, 504},
		{"an answer too large to read", logEntry("r", 200, "via_upstream", "text/event-stream", nil), audit.OutcomeOK, 0, 0},
		{"an answer that is not MCP", logEntry("r", 200, "via_upstream", "text/plain", nil), audit.OutcomeUpstream, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev audit.Event
			answerOutcome(&ev, tc.entry)
			if ev.Outcome != tc.outcome || ev.ErrorCode != tc.code || ev.UpstreamStatus != tc.upstream {
				t.Errorf("outcome %q, code %d, upstream %d; want %q, %d, %d", ev.Outcome, ev.ErrorCode, ev.UpstreamStatus, tc.outcome, tc.code, tc.upstream)
			}
			if ev.BytesOut != 321 || ev.LatencyMicros != 1500 {
				t.Errorf("bytes out %d, latency %d µs; want the entry's 321 and 1500", ev.BytesOut, ev.LatencyMicros)
			}
		})
	}
}

func TestADirectCallIsRecordedOnceWithItsOutcomeOrWithoutItWhenItNeverComes(t *testing.T) {
	var p pendingOutcomes
	sink := &countingEvents{}
	p.park(audit.Event{RequestID: "a", Target: "notes__add"}, sink, nil, time.Hour)
	p.park(audit.Event{RequestID: "b", Target: "notes__add"}, sink, nil, time.Millisecond)

	if !p.complete(logEntry("a", 200, "via_upstream", "application/json", map[string]any{"answered": true, "is_error": true})) {
		t.Fatal("the outcome of a waiting call found no call")
	}
	if p.complete(logEntry("a", 200, "via_upstream", "application/json", nil)) {
		t.Error("a second outcome for a recorded call completed it again")
	}
	// b's wait ends: it is recorded without its outcome, and an outcome arriving later finds
	// nothing.
	select {
	case <-sink.recorded(2):
	case <-time.After(10 * time.Second):
		t.Fatal("a call whose outcome never came was not recorded")
	}
	if p.complete(logEntry("b", 200, "via_upstream", "application/json", nil)) {
		t.Error("an outcome arriving after the call was recorded without it completed it again")
	}
	got := map[string]audit.Event{}
	for _, ev := range sink.all {
		got[ev.RequestID] = ev
	}
	if got["a"].Outcome != audit.OutcomeToolError {
		t.Errorf("a: outcome %q, want a tool error", got["a"].Outcome)
	}
	if got["b"].Outcome != audit.OutcomeUnknown || got["b"].Reason == "" {
		t.Errorf("b: outcome %q, reason %q; want unknown, with a reason", got["b"].Outcome, got["b"].Reason)
	}

	// Stopping records whatever still waits.
	p.park(audit.Event{RequestID: "c"}, sink, nil, time.Hour)
	p.flush()
	if last := sink.last(t); last.RequestID != "c" || last.Outcome != audit.OutcomeUnknown {
		t.Errorf("flushed: %+v", last)
	}
	if len(sink.all) != 3 {
		t.Errorf("%d events, want 3: one per call", len(sink.all))
	}
}

// countingEvents are events that say when a number of them were recorded.
type countingEvents struct {
	events
	waiting map[int]chan struct{}
}

func (s *countingEvents) Record(e audit.Event) {
	s.events.Record(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.waiting[len(s.all)]; ch != nil {
		close(ch)
		delete(s.waiting, len(s.all))
	}
}

// recorded is closed once n events were recorded.
func (s *countingEvents) recorded(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	if len(s.all) >= n {
		close(ch)
		return ch
	}
	if s.waiting == nil {
		s.waiting = map[int]chan struct{}{}
	}
	s.waiting[n] = ch
	return ch
}

// modernConnector answers as the aggregator does for a connector that speaks 2026-07-28: no
// session, that revision.
type modernConnector struct{}

func (modernConnector) ConnectorSession(context.Context, string, string, string, string, bool) (string, string, error) {
	return "", "2026-07-28", nil
}
func (modernConnector) ForgetConnectorSession(string, string, string) {}

// On a connector's direct route extproc answers the body with the route's metadata — the call's
// JSON-RPC id and connector, for Envoy's replies for the connector, and the mark that its audit
// event waits for the access log — and holds the event until its outcome comes instead of
// recording it. A call whose answer would need rewriting (to a connector of the 2025 revisions,
// in a session vmcp keeps) is refused rather than sent where nothing can rewrite it.
func TestADirectRouteHoldsTheCallsEventUntilItsOutcome(t *testing.T) {
	srv, _ := newTestServer(t)
	sink := &events{}
	srv.audit = sink
	srv.connector = modernConnector{}
	hs := map[string]string{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "notes__add_note",
		headers.DirectAnswer: "1", "x-request-id": "req-1",
		headers.Decision: audit.Handoff{ID: "01AUTHZ", Policy: "authz", Reason: "member", PolicyRevision: "r1"}.Encode()}
	body := `{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"notes__add_note","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`

	resp := plainBody(srv, "notes", hs, body)
	md := routeMetadata(resp)
	if md[envoynames.RouteRPCID] != `"abc"` || md[envoynames.RouteConnector] != "notes" || md[envoynames.RouteAwaitsOutcome] == "" {
		t.Fatalf("route metadata %v: want the raw id, the connector and the outcome mark (answer %v)", md, resp)
	}
	if md["authorization"] != "Bearer "+testToken {
		t.Errorf("the connector's credential is not among the route's headers: %v", md)
	}
	if len(sink.all) != 0 {
		t.Fatalf("recorded before its outcome: %+v", sink.all)
	}
	if !srv.outcomes.complete(logEntry("req-1", 200, "via_upstream", "application/json", map[string]any{"answered": true})) {
		t.Fatal("the call's outcome found no call waiting")
	}
	if ev := sink.last(t); ev.Outcome != audit.OutcomeOK || ev.Connector != "notes" || ev.Target != "notes__add_note" || ev.Subject != "alice" {
		t.Errorf("recorded %+v", ev)
	}
	// In place of authz's decision on the call: under its id, with the tool policy's decision,
	// the more specific one.
	if ev := sink.last(t); ev.ID != "01AUTHZ" || ev.Decision != "allow" || ev.Policy != "data.vmcp.tools.decision" {
		t.Errorf("recorded %+v; want it under authz's id, with the tool policy's decision", ev)
	}

	srv.connector = keptSessions{version: "2025-11-25"}
	hs["x-request-id"] = "req-2"
	resp = plainBody(srv, "notes", hs, body)
	if !strings.Contains(string(resp.GetImmediateResponse().GetBody()), "routed inconsistently") {
		t.Errorf("a direct call to a 2025 connector: %v, want a refusal", resp)
	}
}

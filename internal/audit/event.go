// Package audit records every MCP request and every authorization decision by the user who made
// it: written asynchronously (a slow or failing store never blocks a request for long, and
// nothing is lost — events spill to a local file and are replayed), emitted as structured log
// lines, and queryable for audits and usage analytics.
package audit

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Kind says what an event records.
type Kind string

// Event kinds.
const (
	// KindAuthz is one ext_authz decision.
	KindAuthz Kind = "authz"
	// KindMCP is one MCP request (routed to a connector or answered by the aggregator).
	KindMCP Kind = "mcp"
	// KindEgress is one request on Envoy's egress listener, where connector credentials are
	// attached: a fan-out request vmcp made for a user, or a refused attempt to use the listener
	// without vmcp's signed identity.
	KindEgress Kind = "egress"
)

// Outcome values. A JSON-RPC error is recorded as its code in ErrorCode with OutcomeError.
const (
	OutcomeOK        = "ok"
	OutcomeError     = "error"      // JSON-RPC error; see ErrorCode
	OutcomeToolError = "tool_error" // a tools/call result with isError: true
	OutcomeDenied    = "denied"     // refused by authz or a policy
	OutcomeUpstream  = "upstream"   // the connector failed (HTTP status in UpstreamStatus)
	// OutcomeAbandoned: the client (or, on egress, the aggregator) went away before the answer
	// came, so what the connector did is unknown.
	OutcomeAbandoned = "abandoned"
	// OutcomeUnknown: the call reached its connector on a direct route, and its outcome, which
	// Envoy's access log brings separately, never arrived (Reason says why). Counted as such
	// in vmcp_requests_total, so a lost outcome shows.
	OutcomeUnknown = "unknown"
)

// Event is one audit record. It never holds a token or a credential; Arguments holds only what
// the configured argument mode allows, with secret-looking values redacted.
type Event struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Kind      Kind      `json:"kind"`
	RequestID string    `json:"request_id,omitempty"`

	Subject       string `json:"sub,omitempty"`
	Email         string `json:"email,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	VirtualServer string `json:"virtual_server,omitempty"`
	Connector     string `json:"connector,omitempty"`

	Method string `json:"method,omitempty"` // MCP method (tools/call, …)
	Target string `json:"target,omitempty"` // tool, prompt or resource name/URI

	Decision string `json:"decision,omitempty"` // allow | deny | unauthenticated | error
	Policy   string `json:"policy,omitempty"`   // which policy decided
	Reason   string `json:"reason,omitempty"`
	// PolicyRevision is the revision of the policies that decided (bundle revision or content
	// hash); DecisionID is the id the same decision has in the OPA decision log, when shipped.
	PolicyRevision string `json:"policy_revision,omitempty"`
	DecisionID     string `json:"decision_id,omitempty"`

	Outcome        string `json:"outcome,omitempty"`
	ErrorCode      int    `json:"error_code,omitempty"`
	UpstreamStatus int    `json:"upstream_status,omitempty"`

	LatencyMicros int64 `json:"latency_us,omitempty"`
	BytesIn       int64 `json:"bytes_in,omitempty"`
	BytesOut      int64 `json:"bytes_out,omitempty"`

	// TraceID and SpanID name the span of the request (tracing on): the event's log line
	// carries them, so that logs, traces and the audit trail join, and the store write links to
	// it. They are not stored. Kept as the span context holds them: hex is written off the
	// request path, for the log line only.
	TraceID trace.TraceID `json:"-"`
	SpanID  trace.SpanID  `json:"-"`

	// Arguments as recorded per the argument mode (off: nil; keys: {"key": null}; full: values
	// with secret-looking ones replaced by "[redacted]").
	Arguments map[string]any `json:"arguments,omitempty"`
}

// Filter selects events for a query. Zero fields do not filter.
type Filter struct {
	Subject       string
	VirtualServer string
	Connector     string
	Target        string
	Outcome       string
	Kind          Kind
	Since, Until  time.Time
	// Cursor continues a previous page (opaque); Limit caps the page (default 100, max 1000).
	Cursor string
	Limit  int
}

// Usage is one row of analytics: calls, errors, denials and latency for a group.
type Usage struct {
	Key       string  `json:"key"` // the user, tool, connector or virtual server
	Calls     int64   `json:"calls"`
	Errors    int64   `json:"errors"`
	Denials   int64   `json:"denials"`
	P50Millis float64 `json:"p50_ms"`
	P95Millis float64 `json:"p95_ms"`
}

// GroupBy names the dimension usage is grouped by.
type GroupBy string

// Usage dimensions.
const (
	BySubject       GroupBy = "user"
	ByTarget        GroupBy = "tool"
	ByConnector     GroupBy = "connector"
	ByVirtualServer GroupBy = "virtual_server"
)

// Store is where audit events are persisted; both store backends implement it.
type Store interface {
	// InsertAuditEvents writes a batch atomically; an event whose ID exists is skipped, so a
	// replayed spill file never duplicates events.
	InsertAuditEvents(ctx context.Context, events []Event) error
	// QueryAuditEvents returns events newest first and the cursor of the next page ("" at the end).
	QueryAuditEvents(ctx context.Context, f Filter) ([]Event, string, error)
	// AuditUsage aggregates MCP events (Kind mcp) in [since, until) grouped by by.
	AuditUsage(ctx context.Context, by GroupBy, since, until time.Time) ([]Usage, error)
	// DeleteAuditEventsBefore deletes at most limit events older than t and returns how many.
	DeleteAuditEventsBefore(ctx context.Context, t time.Time, limit int) (int, error)
}

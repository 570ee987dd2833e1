package envoynames

// A connector's direct route is its plain route for a call whose answer needs nothing from
// vmcp: a 2026-07-28 client calling a connector that speaks 2026-07-28 (no translation, no
// session ids, no requests from the connector). extproc sees the body only; Envoy's filters read
// the answer's outcome, and Envoy's access log brings it to vmcp's access log service, which
// completes the call's audit event.

// AnswerMetadata is the dynamic metadata namespace FilterJSONAnswer and FilterSSEAnswer fill
// from a direct call's answer, and the fields they set.
const (
	AnswerMetadata = "vmcp.answer"
	// AnswerErrorCode is the JSON-RPC error code of an error answer.
	AnswerErrorCode = "error_code"
	// AnswerIsError is a tool result's isError.
	AnswerIsError = "is_error"
	// AnswerAnswered is set when a JSON-RPC answer was read at all.
	AnswerAnswered = "answered"
)

// Fields extproc adds to RouteMetadata on a direct route, beside the header values (whose names
// are header names, which never have an underscore).
const (
	// RouteRPCID is the call's JSON-RPC id as raw JSON, for the JSON-RPC error Envoy answers
	// with when the connector cannot (the bootstrap's local_reply_config).
	RouteRPCID = "rpc_id"
	// RouteConnector names the connector, for that error's message.
	RouteConnector = "connector_name"
	// RouteAwaitsOutcome marks a call whose audit event waits for its access log entry.
	RouteAwaitsOutcome = "awaits_outcome"
)

// DirectRouteSuffix ends the name of every direct route; the bootstrap's access log and local
// reply mappers select direct calls by it.
const DirectRouteSuffix = "_direct"

// MaxDirectAnswer bounds the JSON answer Envoy holds whole on a direct route to read its outcome
// (the route's buffer limit); an answer over it fails with a JSON-RPC error. SSE answers stream.
const MaxDirectAnswer = 16 << 20

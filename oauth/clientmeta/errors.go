package clientmeta

import "errors"

// The error classes Fetch returns, for errors.Is. The OAuth layer turns each into its protocol
// answer (CIMD-00 §4.3: a failed fetch SHOULD abort the authorization request; MCP 2025-11-25
// answers a validation failure with invalid_client or invalid_request). Messages never quote
// the fetched body: an error that echoed it would turn the fetcher into a way to read documents
// it was tricked into fetching.
var (
	// ErrInvalidClientID: the client_id is not an acceptable Client Identifier URL; nothing was
	// fetched.
	ErrInvalidClientID = errors.New("invalid client identifier URL")
	// ErrForbiddenAddress: the host resolved to a special-use address; no connection was made.
	// It is always wrapped together with ErrFetch.
	ErrForbiddenAddress = errors.New("refused special-use address")
	// ErrFetch: the document could not be retrieved (network, TLS, timeout, status, content
	// type, size).
	ErrFetch = errors.New("fetching client metadata document failed")
	// ErrInvalidDocument: the document was retrieved but breaks a rule of the specification or
	// of vmcp's policy.
	ErrInvalidDocument = errors.New("invalid client metadata document")
)

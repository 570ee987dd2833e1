package audit

// Exported for the external tests (package audit_test), which need audittest and so cannot
// live in package audit.
var (
	SecretArguments = secretArguments
	TestSecrets     = testSecrets
)

package credential

// NotConnectedError means the calling user has no credential of their own for a connector yet
// (or it was revoked): they must connect their account at URL first. URL carries a short-lived
// ticket that only lets that same user complete the connection, so it may be shown to the user
// through their MCP client.
type NotConnectedError struct {
	Connector string
	URL       string
}

func (e *NotConnectedError) Error() string {
	return "connector " + e.Connector + " is not connected for this user"
}

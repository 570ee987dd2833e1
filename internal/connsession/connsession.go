// Package connsession names a connector session that its connector forgot, and the answer to a
// request sent again in the session that replaced it: what extproc, which routes calls, and the
// aggregator, which keeps connector sessions, pass between them.
package connsession

import (
	"net/http"
	"time"
)

// Ref names a connector session that its connector answered 404 in, and whose it is.
type Ref struct {
	SignedIdentity, Subject, VirtualServer, Connector string
	// Sealed is the connector session id the client's vmcp session id carries; empty for a
	// session vmcp keeps for sessionless callers.
	Sealed string
	// Version is the revision of the client's vmcp session, which a new connector session in its
	// place is opened in; empty for a kept session.
	Version string
	// Expires is when the client's vmcp session ends; replacements are useless after.
	Expires time.Time
	// Stale is the session id the connector answered 404 to.
	Stale string
}

// Answer is a connector's whole answer to a request sent again in a new session.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

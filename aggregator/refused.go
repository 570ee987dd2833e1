package aggregator

import (
	"errors"
	"net/http"
)

// refusedCaller reports a connector answering 401 or 403: it is up and speaking, and refused
// this caller's credential — with per-user credentials (credential type oauth), a user who has
// not connected their account. That says nothing about the connector's health or revision, which
// vmcp learns once for every user.
func refusedCaller(err error) bool {
	var status *statusError
	return errors.As(err, &status) && (status.status == http.StatusUnauthorized || status.status == http.StatusForbidden)
}

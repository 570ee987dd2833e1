// Package edgeclient holds what a program needs to act as an MCP client of a running vmcp
// through its Envoy edge (or of a connector directly): the end-to-end tests, the connectors'
// tests and the load run (cmd/vmcp-load) share it.
package edgeclient

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Bearer adds an access token to every request, as an MCP client does after OAuth.
type Bearer struct {
	Token string
	Base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (b Bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.Token)
	return b.Base.RoundTrip(r)
}

// ErrExited is WaitChallenged's answer when the process it waited for ended first.
var ErrExited = errors.New("exited before it was ready")

// WaitChallenged polls url (a virtual server's edge URL) until an unauthenticated POST gets
// vmcp's 401 challenge — Envoy, its routes from xDS and authz all work — for at most timeout,
// or until exited is closed.
func WaitChallenged(url string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	last := errors.New("no answer yet")
	for delay := 10 * time.Millisecond; time.Now().Before(deadline); delay = min(delay*2, 250*time.Millisecond) {
		select {
		case <-exited:
			return ErrExited
		case <-time.After(delay):
		}
		resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			return nil
		}
		last = fmt.Errorf("edge answered %d, want 401", resp.StatusCode)
	}
	return fmt.Errorf("not ready after %s: %v", timeout, last)
}

package harness

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// WaitTimeout bounds WaitHTTP and WaitTCP: long enough for a cold Envoy start on a busy CI
// machine, short enough that a process that will never be ready fails the test soon.
const WaitTimeout = 30 * time.Second

// WaitHTTP polls url with GET until it answers wantStatus. Redirects are not followed, so a
// redirect status can be waited for too.
func WaitHTTP(t testing.TB, url string, wantStatus int) {
	t.Helper()
	client := &http.Client{
		Timeout:       2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	Eventually(t, WaitTimeout, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != wantStatus {
			return fmt.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, wantStatus)
		}
		return nil
	})
}

// WaitTCP polls until something accepts TCP connections on addr.
func WaitTCP(t testing.TB, addr string) {
	t.Helper()
	Eventually(t, WaitTimeout, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		_ = conn.Close()
		return nil
	})
}

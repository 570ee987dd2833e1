package e2e

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A request whose headers are over the edge's 60 KiB limit gets 431 Request Header Fields Too
// Large from Envoy, signed in or not, and reaches neither vmcp nor a connector; the same client's
// ordinary calls (JSON and SSE answers, which extproc still reads) keep working.
func TestOversizedRequestHeadersGet431ThroughEnvoy(t *testing.T) {
	s := startSystem(t)
	token := s.token("alice", "demo")
	u, err := url.Parse(s.url("demo"))
	if err != nil {
		t.Fatal(err)
	}
	before := len(s.notesSeen.all())
	for _, tc := range []struct{ name, headers string }{
		{"a signed-in client with a huge header", "Authorization: Bearer " + token + "\r\nX-Pad: " + strings.Repeat("a", 61*1024) + "\r\n"},
		{"an anonymous client with a huge cookie", "Cookie: c=" + strings.Repeat("a", 100*1024) + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			body := callBody("notes__add_note")
			req := "POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n" +
				tc.headers + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
			// Envoy answers before reading everything; a concurrent write cannot block the test.
			go conn.Write([]byte(req)) //nolint:errcheck // the answer is what is checked
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no HTTP answer (%v), want 431", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("HTTP %d, want 431", resp.StatusCode)
			}
		})
	}
	if after := len(s.notesSeen.all()); after != before {
		t.Errorf("the notes connector received %d requests from the refused ones", after-before)
	}
	// Response processing still runs on the virtual server's routes: a routed call's answer and
	// vmcp's session id come back as before.
	status, _, body := rawRPC(t, s.url("demo"), token, callBody("weather__get_forecast"), nil)
	if status != http.StatusOK || !strings.Contains(string(body), "Oslo") {
		t.Errorf("an ordinary call after the refusals: HTTP %d %s", status, body)
	}
}

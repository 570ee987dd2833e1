package envoy

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Request headers over the edge's max_request_headers_kb get 431 Request Header Fields Too Large,
// not a bare close a client cannot tell from a network fault (RFC 6585 §5). The limit is explicit
// in the bootstrap so that the test below tests the number that ships.
func TestOversizedRequestHeadersGet431AtTheEdge(t *testing.T) {
	if got := hcmOf(t, renderedBootstrap(t), "edge").GetMaxRequestHeadersKb().GetValue(); got != 60 {
		t.Fatalf("edge max_request_headers_kb = %d, want an explicit 60", got)
	}
	edge, _, _ := startEnvoyWithSideServices(t)
	tests := []struct {
		name       string
		headers    string
		wantStatus int
	}{
		{"just under the limit", "X-Pad: " + strings.Repeat("a", 58*1024) + "\r\n", http.StatusOK},
		{"one header over the limit", "X-Pad: " + strings.Repeat("a", 61*1024) + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"many small headers over the limit", strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 70), http.StatusRequestHeaderFieldsTooLarge},
		{"a huge cookie", "Cookie: c=" + strings.Repeat("a", 100*1024) + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", edge)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			const body = `{"jsonrpc":"2.0","id":1,"method":"ping"}`
			req := "POST /v/demo/mcp HTTP/1.1\r\nHost: vmcp\r\nContent-Type: application/json\r\n" + tt.headers +
				"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
			// Envoy answers before it has read everything; write concurrently so a full socket
			// buffer cannot block the test.
			go conn.Write([]byte(req)) //nolint:errcheck // the answer is what is checked
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no HTTP answer (%v), want %d", err, tt.wantStatus)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

// Over HTTP/2 (h2c: the edge's codec is AUTO) Envoy has no 431 to send: a stream whose headers
// are over the limit is reset, and nothing is routed.
func TestOversizedRequestHeadersResetAnHTTP2Stream(t *testing.T) {
	edge, _, _ := startEnvoyWithSideServices(t)
	conn, err := net.Dial("tcp", edge)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/v/demo/mcp"}, {":authority", "vmcp"}, {"x-pad", strings.Repeat("a", 61*1024)}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1], Sensitive: true})
	}
	// Envoy reads while the test writes; a full socket buffer must not block the test.
	go func() {
		block := buf.Bytes()
		for first := true; len(block) > 0; first = false {
			n := min(len(block), 16000) // under the default SETTINGS_MAX_FRAME_SIZE
			if first {
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:n], EndStream: true, EndHeaders: n == len(block)}) //nolint:errcheck // the answer is what is checked
			} else {
				fr.WriteContinuation(1, n == len(block), block[:n]) //nolint:errcheck
			}
			block = block[n:]
		}
	}()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no answer for the stream: %v", err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				return
			}
		case *http2.GoAwayFrame:
			return // the connection refused as a whole: also nothing routed
		case *http2.MetaHeadersFrame:
			t.Fatalf("the stream was answered: %v", f.Fields)
		}
	}
}

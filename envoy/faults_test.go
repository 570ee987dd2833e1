package envoy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	extprocsvc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
)

// startEnvoyWithSideServices runs the real Envoy with the shipped bootstrap against allow-all
// stand-ins for authz and extproc, and returns the edge address and both gRPC servers, which the
// test may stop. Allow-all stand-ins are the hardest case for failing closed: whatever Envoy lets
// through once they are gone, it lets through on its own.
func startEnvoyWithSideServices(t *testing.T) (edge string, authz, proc *grpc.Server) {
	t.Helper()
	params := BootstrapParams{NodeID: NodeID, XDS: serveADS(t), HTTP: freeAddr(t)}
	params.Authz, authz = startGRPC(t, func(g *grpc.Server) { authv3.RegisterAuthorizationServer(g, allowAuthz{}) })
	params.ExtProc, proc = startGRPC(t, func(g *grpc.Server) { extprocsvc.RegisterExternalProcessorServer(g, &passExtProc{}) })
	params = startReadyEnvoy(t, params)
	return params.Edge, authz, proc
}

// A side service that goes away while Envoy runs (a crash, a deploy) does not open the edge:
// every request from then on is refused, none reaches the route.
func TestASideServiceThatStopsMidRunFailsClosed(t *testing.T) {
	tests := []struct {
		name       string
		stop       func(authz, proc *grpc.Server)
		wantStatus int
	}{
		{"authz stops: 503", func(authz, _ *grpc.Server) { authz.Stop() }, http.StatusServiceUnavailable},
		{"extproc stops: 503", func(_, proc *grpc.Server) { proc.Stop() }, http.StatusServiceUnavailable},
		// vmcp dies: both at once.
		{"both stop: 503", func(authz, proc *grpc.Server) { authz.Stop(); proc.Stop() }, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			edge, authz, proc := startEnvoyWithSideServices(t)
			const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note"}}`
			if got, text := post(t, "http://"+edge+"/v/demo/mcp", body); got != http.StatusOK || text != "routed" {
				t.Fatalf("with both services up: %d %q, want 200 routed", got, text)
			}
			tt.stop(authz, proc)
			// Every request after the stop, on new and on kept-alive connections, is refused.
			for i := range 5 {
				got, text := post(t, "http://"+edge+"/v/demo/mcp", body)
				if got != tt.wantStatus || strings.Contains(text, "routed") {
					t.Fatalf("request %d after the stop: %d %q, want %d and not routed", i, got, text, tt.wantStatus)
				}
			}
			checkUnavailable(t, "http://"+edge+"/v/demo/mcp", body)
		})
	}
}

// Slowloris: a client that trickles its headers or body is cut off by the edge's
// request_headers_timeout (10 s) and request_timeout (30 s) instead of holding a connection and
// an ext_proc buffer for the connection's idle timeout (an hour by default).
func TestSlowClientsAreCutOffAtTheEdge(t *testing.T) {
	edge, _, _ := startEnvoyWithSideServices(t)
	tests := []struct {
		name  string
		send  string
		limit time.Duration
	}{
		{"headers that never end", "POST /v/demo/mcp HTTP/1.1\r\nHost: vmcp\r\nContent-Type: application/json\r\n", 20 * time.Second},
		{"a body that never ends", "POST /v/demo/mcp HTTP/1.1\r\nHost: vmcp\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":", 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", edge)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write([]byte(tt.send)); err != nil {
				t.Fatal(err)
			}
			// The read deadline is the test's bound: without the timeouts Envoy would wait far
			// longer, and the read would fail with a timeout instead of returning an answer.
			start := time.Now()
			conn.SetReadDeadline(start.Add(tt.limit))
			status, err := readStatus(conn)
			if err != nil {
				t.Fatalf("after %s: %v; want the edge to answer 408 or close", time.Since(start).Round(time.Second), err)
			}
			if status != "" && !strings.Contains(status, " 408 ") {
				t.Errorf("the edge answered %q, want 408 Request Timeout", status)
			}
		})
	}
}

// checkUnavailable posts body to url and checks the answer is what MCP clients retry on: 503
// with Retry-After and a JSON-RPC error, not Envoy's empty body.
func checkUnavailable(t *testing.T, url, body string) {
	t.Helper()
	resp, raw := postJSON(t, url, body)
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if resp.Header.Get("X-Vmcp-Unavailable") == "" {
		t.Errorf("no x-vmcp-unavailable on the 503: a front Envoy would not retry it elsewhere")
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" {
		t.Errorf("no Retry-After on the 503 (headers %v)", resp.Header)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(raw, &msg); err != nil || msg.JSONRPC != "2.0" || msg.Error == nil || msg.Error.Message == "" {
		t.Errorf("body %q is not a JSON-RPC error (%v)", raw, err)
	}
}

// readStatus reads an HTTP status line; a connection closed without one is "" and no error.
func readStatus(conn net.Conn) (string, error) {
	line, err := bufio.NewReader(conn).ReadString('\n')
	if line == "" && err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return "", fmt.Errorf("still open: %w", err)
		}
		return "", nil
	}
	return strings.TrimSpace(line), nil
}

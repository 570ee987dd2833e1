package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// TestAHangingConnectorIsLeftOutAndComesBack puts a connector that stops answering next to a
// working one. A client's session begins while it hangs: initialize and tools/list answer with
// the working connector's tools only, and go on doing so while the hanging one rests. Once it
// answers again its tools come back, and the client calls them in the session it already has,
// though that session began without the connector.
func TestAHangingConnectorIsLeftOutAndComesBack(t *testing.T) {
	var hang atomic.Bool
	hang.Store(true)
	inner := weather.New(weather.Options{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang.Load() {
			<-r.Context().Done() // never answers; vmcp gives up at the connector's timeout
			return
		}
		inner.ServeHTTP(w, r)
	})}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })

	s := startSystem(t, func(c *harness.Config) {
		c.Connectors = append(c.Connectors, harness.Connector{Name: "flaky", URL: "http://" + lis.Addr().String() + "/mcp", Timeout: time.Second})
	})
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "iso", Connectors: []string{"notes", "flaky"}}) })

	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-isolation", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   s.url("iso"),
		HTTPClient: &http.Client{Transport: edgeclient.Bearer{Token: s.token("alice", "iso"), Base: http.DefaultTransport}},
	}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("initialize with one connector hanging: %v", err)
	}
	defer cs.Close()
	for range 3 {
		names := toolNames(t, cs)
		if !slices.Contains(names, "notes__add_note") || slices.Contains(names, "flaky__get_forecast") {
			t.Fatalf("with flaky hanging, tools/list = %v; want notes' tools only", names)
		}
	}

	hang.Store(false)
	harness.Eventually(t, 30*time.Second, func() error {
		if names := toolNames(t, cs); !slices.Contains(names, "flaky__get_forecast") {
			return fmt.Errorf("flaky's tools are not back: %v", names)
		}
		return nil
	})
	res := callTool(t, cs, "flaky__get_forecast", map[string]any{"city": "Lisbon", "days": 2})
	if res.IsError || !strings.Contains(textOf(res.Content), "Lisbon") {
		t.Fatalf("calling the connector that was down when the session began: %+v", res)
	}
}

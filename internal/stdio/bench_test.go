//go:build unix

package stdio

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolCallThroughTheBridge is one tools/call from a go-sdk client over Streamable HTTP
// through the bridge to the stdio test server and back: the bridge's id rewriting, queueing
// and JSON relaying plus the server's own work (measure the server alone to see the bridge's
// share).
func BenchmarkToolCallThroughTheBridge(b *testing.B) {
	tb := startBridgeB(b)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: tb.url}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	benchEcho(b, cs)
}

// BenchmarkToolCallStdioDirect is the same call from a go-sdk client straight over stdio, the
// baseline the bridge adds to.
func BenchmarkToolCallStdioDirect(b *testing.B) {
	cmd := testCommand()
	transport := &mcp.CommandTransport{Command: execCommand(cmd)}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(context.Background(), transport, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	benchEcho(b, cs)
}

func startBridgeB(b *testing.B) *testBridge {
	br := New(Options{Key: Key{Connector: "bench"}, Command: testCommand()})
	br.Start()
	srv := httptest.NewServer(br)
	b.Cleanup(func() { srv.Close(); br.Close() })
	return &testBridge{Bridge: br, url: srv.URL}
}

func execCommand(c Command) *exec.Cmd {
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	return cmd
}

// benchEcho times parallel echo calls on cs, the same work for the bridge and the baseline.
func benchEcho(b *testing.B, cs *mcp.ClientSession) {
	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cs.CallTool(context.Background(), params); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

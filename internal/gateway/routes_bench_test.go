package gateway

import (
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/aggregator"
	"github.com/vmcp-dev/vmcp/extproc"
	"github.com/vmcp-dev/vmcp/internal/config"
)

// BenchmarkPrepareRouting is the routing part of a reload of the example configuration: extproc
// and the aggregator each compiling names and tool policy for themselves ("separately", as
// Prepare does for a caller without a Table), against one Table for both (sharedRoutes, what
// the gateway does).
func BenchmarkPrepareRouting(b *testing.B) {
	cfg, err := config.LoadFile(filepath.Join("..", "..", "examples", "vmcp.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	ext := extproc.NewServer(nil, nil, nil, nil, zap.NewNop())
	agg := aggregator.NewServer("127.0.0.1:1", nil, nil, "bench", nil, zap.NewNop())
	b.Run("separately", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ext.Prepare(cfg); err != nil {
				b.Fatal(err)
			}
			if _, err := agg.Prepare(cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (sharedRoutes{ext, agg}).Prepare(cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

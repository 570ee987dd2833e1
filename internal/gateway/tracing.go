package gateway

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// startTracing starts exporting vmcp's spans when observability.tracing is configured; the
// returned function flushes what is still buffered and stops.
func (g *Gateway) startTracing(ctx context.Context, cfg *config.Config) (stop func(), err error) {
	t := cfg.Observability.Tracing
	shutdown, err := tracing.Setup(ctx, tracing.Options{
		Endpoint:      t.Endpoint,
		SamplingRatio: t.Ratio(),
		IncludeUser:   t.IncludeUser,
		Version:       Version,
		Log:           g.log.Named("tracing"),
	})
	if err != nil {
		return nil, err
	}
	if t.Enabled() {
		g.log.Info("tracing: exporting spans", zap.String("endpoint", t.Endpoint), zap.Float64("sampling_ratio", t.Ratio()))
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			g.log.Warn("tracing: last spans not exported", zap.Error(err))
		}
	}, nil
}

// withTracingOverride returns cfg with the collector Options.OTLPEndpoint named, a copy when it
// changes anything: a reload of the file must not look like a tracing change needing a restart.
func (g *Gateway) withTracingOverride(cfg *config.Config) *config.Config {
	if g.otlpEndpoint == "" || cfg.Observability.Tracing.Endpoint == g.otlpEndpoint {
		return cfg
	}
	c := *cfg
	c.Observability.Tracing.Endpoint = g.otlpEndpoint
	return &c
}

// Package connectors runs the example MCP connectors (notes and weather) as HTTP servers, for
// `vmcp example-connectors`, `vmcp dev` and the end-to-end tests.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/examples/connectors/notes"
	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
)

// ShutdownTimeout bounds how long Serve waits for in-flight requests once its context is done.
const ShutdownTimeout = 5 * time.Second

// Connectors are the two example connectors with their sockets already bound, so a caller that
// asked for ":0" can learn the ports before serving.
type Connectors struct {
	log        *zap.Logger
	notesToken string
	notes      net.Listener
	weather    net.Listener
}

// Listen binds both connectors' addresses. The caller must call Serve or Close.
func Listen(log *zap.Logger, notesAddr, weatherAddr, notesToken string) (*Connectors, error) {
	if notesToken == "" {
		// The notes connector would refuse every request; say so now rather than with 401s later.
		return nil, errors.New("notes connector: a bearer token is required")
	}
	nl, err := net.Listen("tcp", notesAddr)
	if err != nil {
		return nil, fmt.Errorf("notes connector: listen on %s: %w", notesAddr, err)
	}
	wl, err := net.Listen("tcp", weatherAddr)
	if err != nil {
		_ = nl.Close()
		return nil, fmt.Errorf("weather connector: listen on %s: %w", weatherAddr, err)
	}
	return &Connectors{log: log, notesToken: notesToken, notes: nl, weather: wl}, nil
}

// NotesAddr is the notes connector's bound address (host:port).
func (c *Connectors) NotesAddr() string { return c.notes.Addr().String() }

// WeatherAddr is the weather connector's bound address (host:port).
func (c *Connectors) WeatherAddr() string { return c.weather.Addr().String() }

// Close releases the sockets of connectors that will not be served.
func (c *Connectors) Close() error {
	return errors.Join(c.notes.Close(), c.weather.Close())
}

// Serve serves both connectors until ctx is done or one of them fails, then shuts both down,
// waiting at most ShutdownTimeout for in-flight requests. It returns nil after a shutdown
// caused by ctx. Call it once.
func (c *Connectors) Serve(ctx context.Context) error {
	servers := []*server{
		newServer(c.log, "notes", c.notes, notes.New(notes.Options{Token: c.notesToken})),
		newServer(c.log, "weather", c.weather, weather.New(weather.Options{})),
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		c.log.Info("example connector listening", zap.String("connector", s.name), zap.String("addr", s.ln.Addr().String()))
		go func() { errc <- s.serve() }()
	}

	var err error
	running := len(servers)
	select {
	case <-ctx.Done():
	case err = <-errc: // one connector failed: stop the other too
		running--
	}

	// The shutdown deadline must not inherit ctx's cancellation, which is what brought us here.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	for _, s := range servers {
		if serr := s.shutdown(sctx); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	for ; running > 0; running-- {
		if serr := <-errc; serr != nil {
			err = errors.Join(err, serr)
		}
	}
	c.log.Info("example connectors stopped")
	return err
}

// Serve listens on both addresses and serves the example connectors until ctx is done.
func Serve(ctx context.Context, log *zap.Logger, notesAddr, weatherAddr, notesToken string) error {
	c, err := Listen(log, notesAddr, weatherAddr, notesToken)
	if err != nil {
		return err
	}
	return c.Serve(ctx)
}

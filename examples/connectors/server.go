package connectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// server is one connector's http.Server with the bookkeeping for a prompt shutdown.
type server struct {
	name string
	ln   net.Listener
	srv  *http.Server
	log  *zap.Logger
}

func newServer(log *zap.Logger, name string, ln net.Listener, h http.Handler) *server {
	log = log.With(zap.String("connector", name))
	srv := &http.Server{
		// Slow-header clients must not hold connections forever.
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(log),
	}
	srv.Handler = endStreamsOnShutdown(srv, h)
	srv.ConnState = closeUnusedConnsOnShutdown(srv)
	return &server{name: name, ln: ln, srv: srv, log: log}
}

// serve returns nil after a shutdown and the listener's error otherwise.
func (s *server) serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s connector: serve: %w", s.name, err)
	}
	return nil
}

func (s *server) shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		// Deadline passed with requests still running: cut them off rather than hang.
		s.log.Warn("graceful shutdown timed out; closing connections", zap.Error(err))
		if cerr := s.srv.Close(); cerr != nil {
			return fmt.Errorf("%s connector: close: %w", s.name, cerr)
		}
	}
	return nil
}

// endStreamsOnShutdown ends standalone SSE streams (MCP Streamable HTTP GET) when the server
// starts shutting down. Such a stream never becomes idle, so http.Server.Shutdown would wait
// for it until its deadline; the stream carries no pending response, so ending it loses
// nothing, and the client reconnects elsewhere. POSTs keep their own context and finish.
func endStreamsOnShutdown(srv *http.Server, h http.Handler) http.Handler {
	shuttingDown, cancel := context.WithCancel(context.Background())
	srv.RegisterOnShutdown(cancel)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			ctx, stop := context.WithCancel(r.Context())
			defer stop()
			unregister := context.AfterFunc(shuttingDown, stop)
			defer unregister()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// closeUnusedConnsOnShutdown closes, at shutdown, connections that have not sent a request yet.
// http.Server.Shutdown counts such a connection as busy until it is 5 s old (a long-standing net/http behaviour),
// and HTTP clients routinely leave one behind: a dial that lost the race for a request goes
// into the client's idle pool unused. Closing it loses no request.
func closeUnusedConnsOnShutdown(srv *http.Server) func(net.Conn, http.ConnState) {
	var (
		mu     sync.Mutex
		unused = map[net.Conn]struct{}{}
	)
	srv.RegisterOnShutdown(func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range unused {
			_ = c.Close()
		}
	})
	return func(c net.Conn, state http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if state == http.StateNew {
			unused[c] = struct{}{}
		} else {
			delete(unused, c)
		}
	}
}

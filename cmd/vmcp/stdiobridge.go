package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vmcp-dev/vmcp/internal/stdio"
)

// cmdStdioBridge serves one stdio MCP server over Streamable HTTP, on its own: the same bridge
// vmcp runs for a command connector, for trying a server with an HTTP client or putting it
// behind any proxy.
func cmdStdioBridge(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("stdio-bridge", stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve on")
	path := fs.String("path", "/mcp", "the MCP endpoint's path")
	timeout := fs.Duration("request-timeout", 30*time.Second, "how long a request may go without a sign of life from the server")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vmcp stdio-bridge [--listen ADDR] [--path /mcp] [--request-timeout 30s] -- COMMAND [ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fs.Usage()
		return exitCode(2)
	}
	if !strings.HasPrefix(*path, "/") {
		fmt.Fprintf(stderr, "vmcp stdio-bridge: --path %q must start with /\n", *path)
		return exitCode(2)
	}
	log, err := newLogger(*level, false)
	if err != nil {
		return err
	}
	defer log.Sync()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	b := stdio.New(stdio.Options{
		Key:            stdio.Key{Connector: "stdio-bridge"},
		Command:        stdio.Command{Argv: argv},
		RequestTimeout: *timeout,
		ClientInfo:     stdio.ClientInfo{Name: "vmcp-stdio-bridge", Version: versionString()},
		Log:            log,
	})
	b.Start()
	defer b.Close()
	mux := http.NewServeMux()
	mux.Handle(*path, b)
	// 200 while the server is up and initialized, 503 while it is (re)starting.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !b.Healthy() {
			http.Error(w, "stdio server not running", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "vmcp stdio-bridge: serving %s on http://%s%s\n", argv[0], lis.Addr(), *path)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

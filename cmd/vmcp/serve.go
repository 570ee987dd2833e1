package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/gateway"
)

func versionString() string { return gateway.Version }

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	path := fs.String("c", "", "configuration file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "vmcp serve: -c FILE is required")
		return exitCode(2)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Server.LogLevel, false)
	if err != nil {
		return err
	}
	defer log.Sync()
	g, err := gateway.New(ctx, cfg, log, gateway.Options{})
	if err != nil {
		return err
	}
	return g.Run(ctx, true)
}

// loadConfig loads a configuration, printing every problem on its own file:line:column line.
func loadConfig(path string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.LoadFile(path)
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(stderr, p.String())
		}
		return nil, exitCode(1)
	}
	return cfg, err
}

// newLogger builds the process logger: JSON lines for serve (log pipelines), a console
// encoder for dev (people).
func newLogger(level string, console bool) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if console {
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.OutputPaths = []string{"stderr"}
	return zc.Build()
}

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	path := fs.String("c", "", "configuration file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "vmcp validate: -c FILE is required")
		return exitCode(2)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: valid (%d connectors, %d virtual servers)\n", *path, len(cfg.Connectors), len(cfg.VirtualServers))
	return nil
}

func cmdEnvoyBootstrap(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("envoy-bootstrap", stderr)
	path := fs.String("c", "", "configuration file (required)")
	out := fs.String("o", "", "write to this file instead of standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		fmt.Fprintln(stderr, "vmcp envoy-bootstrap: -c FILE is required")
		return exitCode(2)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	data, err := renderBootstrap(cfg)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/envoy"
	"github.com/vmcp-dev/vmcp/examples"
	"github.com/vmcp-dev/vmcp/examples/connectors"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/gateway"
)

// devConfig loads path, or, when path is empty, the embedded example configuration, written to
// .vmcp/vmcp.yaml on first use so that it can be edited (and is then hot-reloaded).
func devConfig(path string, stderr io.Writer) (*config.Config, bool, error) {
	if path == "" {
		path = filepath.Join(".vmcp", "vmcp.yaml")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := writeExampleConfig(path); err != nil {
				return nil, false, err
			}
		}
	}
	cfg, err := loadConfig(path, stderr)
	return cfg, true, err
}

func writeExampleConfig(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "notes-token"), examples.NotesToken, 0o600); err != nil {
		return err
	}
	// The embedded file keeps data_dir ".vmcp" relative to the working directory, where it was
	// written from.
	return os.WriteFile(path, examples.Config, 0o600)
}

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", stderr)
	path := fs.String("c", "", "configuration file (default: the embedded example configuration, in .vmcp/vmcp.yaml)")
	noExamples := fs.Bool("no-example-connectors", false, "do not run the example connectors")
	noEnvoy := fs.Bool("no-envoy", false, "do not start Envoy (one is run separately, as in docker-compose)")
	otlp := fs.String("otlp-endpoint", "", "export OpenTelemetry traces of Envoy and vmcp to this OTLP/gRPC collector (host:port, plaintext), e.g. a local Jaeger's 127.0.0.1:4317")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Find Envoy first: without it nothing else is worth starting.
	var bin string
	if !*noEnvoy {
		var err error
		if bin, err = envoy.Find(); err != nil {
			fmt.Fprintln(stderr, err)
			return exitCode(1)
		}
	}
	cfg, watch, err := devConfig(*path, stderr)
	if err != nil {
		return err
	}
	if *otlp != "" {
		if err := config.CheckTraceEndpoint(*otlp); err != nil {
			return fmt.Errorf("--otlp-endpoint: %w", err)
		}
		cfg.Observability.Tracing.Endpoint = *otlp
	}
	log, err := newLogger(cfg.Server.LogLevel, true)
	if err != nil {
		return err
	}
	defer log.Sync()

	// A signal (ctx) stops the gateway first; Envoy and the example connectors run on their own
	// context until the gateway has drained, since in-flight calls need both to finish.
	signalled := ctx
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	errc := make(chan error, 3)

	if !*noExamples {
		ex, err := startExampleConnectors(ctx, cfg, log.Named("examples"))
		if err != nil {
			return err
		}
		if ex != nil {
			go func() { errc <- ex() }()
		}
	}

	g, err := gateway.New(ctx, cfg, log, gateway.Options{Dev: true, OTLPEndpoint: *otlp})
	if err != nil {
		return err
	}
	// The gateway stops on a signal, or when vmcp dev must exit for another reason (an example
	// connector failed, Envoy cannot be kept up): either way it drains and flushes the audit.
	runCtx, stopGateway := context.WithCancel(signalled)
	defer stopGateway()
	gatewayDone := make(chan error, 1)
	gatewayExited := make(chan struct{})
	go func() { gatewayDone <- g.Run(runCtx, watch); close(gatewayExited) }()
	// Every way out of here — an Envoy that never started included — drains the gateway and
	// flushes the audit before the process exits.
	defer func() { stopGateway(); <-gatewayExited }()
	if *noEnvoy {
		fmt.Fprintf(stdout, "vmcp is serving for an Envoy started separately (edge %s)\n", cfg.Server.PublicURL)
		return waitDev(signalled, log, stopGateway, gatewayDone, errc, nil)
	}
	if v, err := envoy.Version(bin); err == nil && !envoy.IsSupportedVersion(v) {
		log.Warn("this Envoy is not the 1.40 release vmcp is built and tested against", zap.String("version", v), zap.String("path", bin))
	}

	bootstrap, err := renderBootstrap(cfg)
	if err != nil {
		return err
	}
	bootstrapPath := filepath.Join(cfg.Server.DataDir, "envoy-bootstrap.yaml")
	if err := os.WriteFile(bootstrapPath, bootstrap, 0o644); err != nil {
		return err
	}
	startEnvoy := func() (*envoy.Process, error) {
		return envoy.Start(ctx, bin, bootstrapPath, cfg.Server.Envoy.Admin, log.Named("envoy"))
	}
	proc, err := startEnvoy()
	if err != nil {
		return err
	}
	// Envoy's own death does not end the developer's session: it is restarted (bounded, with
	// backoff); sessions survive it, since vmcp, not Envoy, holds them.
	sup := supervise(proc, func() (child, error) { return envoyChild(startEnvoy()) }, devRestarts, log.Named("envoy"))
	defer sup.Stop()
	// Envoy serves before its admin API says ready, so a signal that arrives meanwhile may find
	// calls in flight: it drains like any other, rather than failing the start.
	if err := proc.WaitReady(signalled); err != nil && signalled.Err() == nil {
		return fmt.Errorf("envoy did not become ready: %w", err)
	}
	if signalled.Err() == nil {
		printNextSteps(stdout, cfg)
	}
	return waitDev(signalled, log, stopGateway, gatewayDone, errc, sup)
}

// waitDev runs until a signal (signalled), the gateway's end, a failing example connector or
// Envoy exiting more often than devRestarts allows (sup, nil without Envoy). Whatever ends it,
// the gateway drains — in-flight calls finish and their audit events are written — before the
// caller's deferred stops end Envoy and the example connectors.
func waitDev(signalled context.Context, log *zap.Logger, stopGateway func(), gatewayDone, errc <-chan error, sup *supervisor) error {
	var gaveUp <-chan error
	if sup != nil {
		gaveUp = sup.GaveUp()
	}
	var why error
	select {
	case <-signalled.Done():
		log.Info("stopping: in-flight requests finish, new ones are refused")
		return <-gatewayDone
	case err := <-gatewayDone:
		return err
	case err := <-gaveUp:
		why = err
	case err := <-errc:
		why = err
	}
	log.Error("stopping: in-flight requests finish and the audit is flushed", zap.Error(why))
	stopGateway()
	if err := <-gatewayDone; err != nil {
		log.Error("gateway", zap.Error(err))
	}
	return why
}

// startExampleConnectors runs the notes and weather connectors when the configuration names them
// at loopback URLs, as the example configuration does.
func startExampleConnectors(ctx context.Context, cfg *config.Config, log *zap.Logger) (func() error, error) {
	var notes, weather *config.Connector
	for i := range cfg.Connectors {
		switch cfg.Connectors[i].Name {
		case "notes":
			notes = &cfg.Connectors[i]
		case "weather":
			weather = &cfg.Connectors[i]
		}
	}
	if notes == nil || weather == nil {
		return nil, nil
	}
	nu, _ := url.Parse(notes.URL)
	wu, _ := url.Parse(weather.URL)
	c, err := connectors.Listen(log, nu.Host, wu.Host, notes.Credential.Token.Value())
	if err != nil {
		return nil, err
	}
	return func() error { return c.Serve(ctx) }, nil
}

func renderBootstrap(cfg *config.Config) ([]byte, error) {
	return envoy.Render(envoy.ParamsFromConfig(cfg))
}

func printNextSteps(w io.Writer, cfg *config.Config) {
	var vs *config.VirtualServer
	if len(cfg.VirtualServers) > 0 {
		vs = &cfg.VirtualServers[0]
	}
	fmt.Fprintf(w, "\nvmcp is running behind Envoy on %s (Envoy admin: http://%s)\n", cfg.Server.PublicURL, cfg.Server.Envoy.Admin)
	if also := cfg.PublicURLs()[1:]; len(also) > 0 {
		// Clients (and READMEs) spell loopback differently; every spelling works.
		fmt.Fprintf(w, "It answers on %s too: OAuth and tokens work on every spelling.\n", strings.Join(also, " and "))
	}
	if vs == nil {
		fmt.Fprintln(w, "No virtual servers are configured yet: add one to", cfg.Path)
		return
	}
	res := authz.ResourceURL(cfg, vs)
	cflag := ""
	if cfg.Path != filepath.Join(".vmcp", "vmcp.yaml") {
		cflag = " -c " + cfg.Path
	}
	fmt.Fprintf(w, `
Virtual MCP server %q: %s

Next steps:
  1. Get a development access token:
       TOKEN=$(bin/vmcp token%s --user alice --vs %s)
  2. Talk MCP to it:
       curl -s %s -H "Authorization: Bearer $TOKEN" \
         -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
         -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'
  3. Or point any MCP client (Streamable HTTP) at %s with that bearer token.

Edit %s and vmcp reloads it. Ctrl-C stops everything.
`, vs.Name, res, cflag, vs.Name, res, res, cfg.Path)
}

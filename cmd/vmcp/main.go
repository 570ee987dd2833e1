// Command vmcp is the Virtual MCP gateway: one binary with a subcommand per job.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `vmcp — a Virtual MCP server on Envoy

Usage:
  vmcp serve -c FILE                 run authz, extproc, xds and the aggregator for your Envoy
  vmcp dev [-c FILE]                 the same plus a real Envoy and the example connectors
  vmcp validate -c FILE              check a configuration; exit 0 only when valid
  vmcp envoy-bootstrap -c FILE       print the Envoy bootstrap for a configuration
  vmcp token --user NAME --vs NAME   print a development access token
  vmcp example-connectors            serve the example connectors (notes, weather)
  vmcp stdio-bridge -- CMD ARGS…     serve one stdio MCP server over Streamable HTTP
  vmcp hash-password                 print a bcrypt hash for a dev user (password on stdin)
  vmcp audit [--user U] [--json] …   list audit events from the admin API (token: $VMCP_TOKEN)
  vmcp usage [--by DIM] [--since D]  calls, errors and latency per user, tool, connector, …
  vmcp policy test|check|eval|tools  Rego tests, strict check + opa fmt, dry-run decisions
  vmcp connections --user SUB [--disconnect C]   a user's per-user OAuth connections (admin API)
  vmcp version

Run "vmcp COMMAND -h" for a command's flags.
`

// exitCode lets a command choose its exit status without printing more.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var code exitCode
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "vmcp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stderr)
	case "dev":
		return cmdDev(ctx, rest, stdout, stderr)
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "envoy-bootstrap":
		return cmdEnvoyBootstrap(rest, stdout, stderr)
	case "token":
		return cmdToken(ctx, rest, stdout, stderr)
	case "hash-password":
		return cmdHashPassword(rest, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "usage":
		return cmdUsage(ctx, rest, stdout, stderr)
	case "policy":
		return cmdPolicy(ctx, rest, stdout, stderr)
	case "connections":
		return cmdConnections(ctx, rest, stdout, stderr)
	case "example-connectors":
		return cmdExampleConnectors(ctx, rest, stderr)
	case "stdio-bridge":
		return cmdStdioBridge(ctx, rest, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "vmcp", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "vmcp: unknown command %q\n\n%s", cmd, usage)
		return exitCode(2)
	}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vmcp "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

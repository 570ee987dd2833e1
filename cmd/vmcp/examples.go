package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vmcp-dev/vmcp/examples"
	"github.com/vmcp-dev/vmcp/examples/connectors"
)

// cmdExampleConnectors serves the example connectors on their own, for docker-compose and for
// trying vmcp serve with your own Envoy.
func cmdExampleConnectors(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("example-connectors", stderr)
	notes := fs.String("notes", "127.0.0.1:19001", "notes connector listen address")
	weather := fs.String("weather", "127.0.0.1:19002", "weather connector listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := os.Getenv("VMCP_NOTES_TOKEN")
	if token == "" {
		token = strings.TrimSpace(string(examples.NotesToken))
	}
	log, err := newLogger("info", false)
	if err != nil {
		return err
	}
	c, err := connectors.Listen(log, *notes, *weather, token)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "example connectors: notes on http://%s/mcp, weather on http://%s/mcp\n", c.NotesAddr(), c.WeatherAddr())
	return c.Serve(ctx)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/vmcp-dev/vmcp/internal/admin"
)

// cmdConnections lists a user's per-user OAuth connections, or disconnects one, through the
// admin API (so the running vmcp drops its cached token at once).
func cmdConnections(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("connections", stderr)
	af := addAdminFlags(fs)
	user := fs.String("user", "", "the user (sub) whose connections to show (required)")
	disconnect := fs.String("disconnect", "", "forget the user's tokens for this connector")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	if *user == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "vmcp connections: --user is required (and nothing else after the flags)")
		return exitCode(2)
	}
	c, err := af.client("connections", stderr)
	if err != nil {
		return err
	}
	q := url.Values{"user": {*user}}
	if *disconnect != "" {
		var out map[string]any
		if err := c.do(ctx, "DELETE", admin.ConnectionsPath+"/"+url.PathEscape(*disconnect), q, &out); err != nil {
			fmt.Fprintln(stderr, "vmcp connections:", err)
			return exitCode(1)
		}
		fmt.Fprintf(stdout, "disconnected %s from %s\n", printable(*user), printable(*disconnect))
		return nil
	}
	var out struct {
		Connections []admin.ConnectionStatus `json:"connections"`
	}
	if err := c.get(ctx, admin.ConnectionsPath, q, &out); err != nil {
		fmt.Fprintln(stderr, "vmcp connections:", err)
		return exitCode(1)
	}
	if *af.json {
		enc := json.NewEncoder(stdout)
		for _, s := range out.Connections {
			enc.Encode(s)
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tCONNECTED")
	for _, s := range out.Connections {
		fmt.Fprintf(tw, "%s\t%v\n", s.Connector, s.Connected)
	}
	return tw.Flush()
}

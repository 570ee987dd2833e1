package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/vmcp-dev/vmcp/internal/admin"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
)

// adminFlags are the flags every admin API command shares.
type adminFlags struct {
	server, token *string
	json          *bool
}

func addAdminFlags(fs *flag.FlagSet) adminFlags {
	server := os.Getenv("VMCP_SERVER")
	if server == "" {
		server = "http://" + config.DefaultHTTP
	}
	return adminFlags{
		server: fs.String("server", server, "vmcp's HTTP address, where the admin API is served ($VMCP_SERVER)"),
		token:  fs.String("token", "", "bearer token of a member of audit.admin_groups (default $VMCP_TOKEN)"),
		json:   fs.Bool("json", false, "print JSON Lines instead of a table"),
	}
}

// client resolves the token (flag, else $VMCP_TOKEN) and returns an admin API client.
func (f adminFlags) client(cmd string, stderr io.Writer) (*adminClient, error) {
	tok := *f.token
	if tok == "" {
		tok = os.Getenv("VMCP_TOKEN")
	}
	if tok == "" {
		fmt.Fprintf(stderr, "vmcp %s: needs a token: pass --token or set VMCP_TOKEN\n", cmd)
		return nil, exitCode(2)
	}
	base, err := url.Parse(strings.TrimRight(*f.server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		fmt.Fprintf(stderr, "vmcp %s: --server %q is not an http(s) URL\n", cmd, *f.server)
		return nil, exitCode(2)
	}
	return &adminClient{cmd: cmd, base: base, token: tok, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// adminClient calls the admin API. The token goes in the Authorization header only; it is never
// printed, not even in errors.
type adminClient struct {
	cmd   string
	base  *url.URL
	token string
	http  *http.Client
}

// get fetches path?q into v, turning the API's error answers into messages for a person.
func (c *adminClient) get(ctx context.Context, path string, q url.Values, v any) error {
	return c.do(ctx, http.MethodGet, path, q, v)
}

// do is get with any method.
func (c *adminClient) do(ctx context.Context, method, path string, q url.Values, v any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the admin API at %s: %w", c.base, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", c.base, err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("the answer of %s is not the admin API's JSON: %w", c.base, err)
		}
		return nil
	}
	var apiErr struct{ Message string }
	_ = json.Unmarshal(body, &apiErr)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return errors.New("the server did not accept the token (401): get a fresh one")
	case http.StatusForbidden:
		return errors.New("the token's user is not in any of audit.admin_groups (403)")
	case http.StatusBadRequest:
		return fmt.Errorf("bad request: %s", printable(apiErr.Message))
	case http.StatusNotFound:
		return fmt.Errorf("%s has no admin API at %s (404): check --server", c.base, path)
	}
	msg := printable(apiErr.Message)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return fmt.Errorf("the server answered %d: %s", resp.StatusCode, msg)
}

// cmdAudit lists audit events, newest first, following next_cursor until --limit events.
func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", stderr)
	af := addAdminFlags(fs)
	filters := map[string]*string{}
	for _, p := range []struct{ flag, param, help string }{
		{"user", "user", "only events of this user (sub)"},
		{"vs", "virtual_server", "only this virtual server"},
		{"connector", "connector", "only this connector"},
		{"tool", "tool", "only this tool (or prompt, or resource)"},
		{"outcome", "outcome", "ok, error, tool_error, denied, upstream, abandoned or unknown"},
		{"kind", "kind", "mcp (requests, with the access decision that let them in), authz (access refusals, and allowed requests that went no further) or egress (vmcp's requests to connectors)"},
	} {
		filters[p.param] = fs.String(p.flag, "", p.help)
	}
	since := fs.String("since", "", "only events since this long ago (90m, 24h, 7d) or this RFC 3339 time")
	until := fs.String("until", "", "only events before this long ago or this RFC 3339 time")
	limit := fs.Int("limit", 100, "print at most this many events")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *limit < 1 {
		fmt.Fprintln(stderr, "vmcp audit: takes flags only, and --limit must be at least 1")
		return exitCode(2)
	}
	q := url.Values{}
	for k, v := range filters {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	now := time.Now()
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		t, err := parseWhen(v, now)
		if err != nil {
			fmt.Fprintf(stderr, "vmcp audit: --%s: %v\n", name, err)
			return exitCode(2)
		}
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
	c, err := af.client("audit", stderr)
	if err != nil {
		return err
	}

	out := newEventPrinter(stdout, *af.json)
	for left := *limit; left > 0; {
		q.Set("limit", strconv.Itoa(min(left, 1000)))
		var page admin.AuditPage
		if err := c.get(ctx, admin.AuditPath, q, &page); err != nil {
			out.flush()
			fmt.Fprintf(stderr, "vmcp audit: %v\n", err)
			return exitCode(1)
		}
		for i := range page.Events[:min(len(page.Events), left)] {
			out.print(&page.Events[i])
		}
		left -= len(page.Events)
		if page.NextCursor == "" || len(page.Events) == 0 {
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	return out.flush()
}

// parseWhen reads a point in time: a duration before now (Go syntax, plus d for days) or an
// RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither a duration (90m, 24h, 7d) nor an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}

// eventPrinter writes events as a table or as JSON Lines.
type eventPrinter struct {
	tw   *tabwriter.Writer
	enc  *json.Encoder
	rows int
}

func newEventPrinter(w io.Writer, jsonLines bool) *eventPrinter {
	if jsonLines {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &eventPrinter{enc: enc}
	}
	return &eventPrinter{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

func (p *eventPrinter) print(ev *audit.Event) {
	if p.enc != nil {
		_ = p.enc.Encode(ev)
		return
	}
	if p.rows == 0 {
		fmt.Fprintln(p.tw, "TIME\tUSER\tVS\tCONNECTOR\tMETHOD\tTARGET\tOUTCOME\tLATENCY")
	}
	p.rows++
	fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		ev.Time.UTC().Format(time.RFC3339), cell(ev.Subject), cell(ev.VirtualServer), cell(ev.Connector),
		cell(ev.Method), cell(ev.Target), cell(outcome(ev)), latency(ev.LatencyMicros))
}

func (p *eventPrinter) flush() error {
	if p.tw == nil {
		return nil
	}
	if p.rows == 0 {
		fmt.Fprintln(p.tw, "no events")
	}
	return p.tw.Flush()
}

// outcome is the outcome with its detail: error(-32602), upstream(502); for an access decision
// without an outcome, the decision.
func outcome(ev *audit.Event) string {
	switch {
	case ev.Outcome == "":
		return ev.Decision
	case ev.ErrorCode != 0:
		return fmt.Sprintf("%s(%d)", ev.Outcome, ev.ErrorCode)
	case ev.UpstreamStatus != 0:
		return fmt.Sprintf("%s(%d)", ev.Outcome, ev.UpstreamStatus)
	}
	return ev.Outcome
}

func latency(us int64) string {
	if us == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(us)/1000, 'f', 1, 64) + "ms"
}

// cell makes recorded text safe for a terminal table: user-controlled names with escape
// sequences could rewrite the screen, tabs and newlines would break the columns.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return '?'
		}
		return r
	}, s)
}

// cmdUsage prints calls, errors, denials and latency per user, tool, connector or virtual
// server over a window (default: the last 24 hours).
func cmdUsage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("usage", stderr)
	af := addAdminFlags(fs)
	by := fs.String("by", "user", "group by user, tool, connector or virtual_server")
	since := fs.String("since", "24h", "window start: this long ago (90m, 24h, 7d) or an RFC 3339 time")
	until := fs.String("until", "", "window end (default now): this long ago or an RFC 3339 time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "vmcp usage: takes flags only")
		return exitCode(2)
	}
	now := time.Now()
	q := url.Values{"by": {*by}}
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		t, err := parseWhen(v, now)
		if err != nil {
			fmt.Fprintf(stderr, "vmcp usage: --%s: %v\n", name, err)
			return exitCode(2)
		}
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
	c, err := af.client("usage", stderr)
	if err != nil {
		return err
	}
	var rep admin.UsageReport
	if err := c.get(ctx, admin.UsagePath, q, &rep); err != nil {
		fmt.Fprintf(stderr, "vmcp usage: %v\n", err)
		return exitCode(1)
	}
	if *af.json {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "usage by %s, %s to %s\n", cell(string(rep.By)),
		rep.Since.UTC().Format(time.RFC3339), rep.Until.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tCALLS\tERRORS\tDENIALS\tP50\tP95\t\n", strings.ToUpper(printable(string(rep.By))))
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1fms\t%.1fms\t\n", cell(r.Key), r.Calls, r.Errors, r.Denials, r.P50Millis, r.P95Millis)
	}
	if len(rep.Rows) == 0 {
		fmt.Fprintln(tw, "no MCP calls in this window\t")
	}
	return tw.Flush()
}

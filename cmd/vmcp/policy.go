package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/vmcp-dev/vmcp/internal/admin"
	"github.com/vmcp-dev/vmcp/internal/policytool"
)

const policyUsage = `Usage:
  vmcp policy test [DIR…]                       run the Rego unit tests (OPA's tester; default policies/)
  vmcp policy check [DIR…]                      strict compile and opa fmt diff (default policies/)
  vmcp policy eval -c FILE --user U [--groups G,…] --vs VS [--tool T] [--args JSON] [--bundle FILE]
                                                allow/deny, the deciding rule and the input document
  vmcp policy tools --as U [--groups G,…] --vs VS   the tools U would see (asks the running vmcp's
                                                admin API: the same code as tools/list; token: $VMCP_TOKEN)
`

// cmdPolicy runs the policy subcommands.
func cmdPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return exitCode(2)
	}
	dirsOr := func(rest []string) []string {
		if len(rest) == 0 {
			return []string{"policies"}
		}
		return rest
	}
	switch args[0] {
	case "test":
		if err := policytool.Test(ctx, stdout, dirsOr(args[1:])...); err != nil {
			fmt.Fprintln(stderr, "vmcp policy test:", err)
			return exitCode(1)
		}
		return nil
	case "check":
		if err := policytool.Check(stdout, dirsOr(args[1:])...); err != nil {
			fmt.Fprintln(stderr, "vmcp policy check:", err)
			return exitCode(1)
		}
		return nil
	case "eval":
		return cmdPolicyEval(ctx, args[1:], stdout, stderr)
	case "tools":
		return cmdPolicyTools(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "vmcp policy: unknown subcommand %q\n\n%s", args[0], policyUsage)
		return exitCode(2)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdPolicyEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy eval", stderr)
	path := fs.String("c", "", "configuration file (default: the embedded example configuration)")
	user := fs.String("user", "", "the caller's subject (required)")
	email := fs.String("email", "", "email (default USER@example.com, as vmcp token)")
	clientID := fs.String("client-id", "vmcp-cli", "OAuth client id (default: that of vmcp token)")
	groups := fs.String("groups", "", "comma-separated groups")
	roles := fs.String("roles", "", "comma-separated roles (vmcp.authz only)")
	vs := fs.String("vs", "", "virtual server (required)")
	tool := fs.String("tool", "", "tool name as the client sees it: ask vmcp.tools instead of vmcp.authz")
	conn := fs.String("connector", "", "the tool's connector (prefix modes other than always)")
	connTool := fs.String("connector-tool", "", "the connector's own name for the tool (with --connector)")
	resource := fs.String("resource", "", "a resource URI: ask vmcp.connectors (with --connector)")
	template := fs.String("resource-template", "", "a resource URI template: ask vmcp.connectors (with --connector)")
	prompt := fs.String("prompt", "", "a prompt name as the client sees it: ask vmcp.connectors")
	list := fs.Bool("list", false, "ask about seeing the tool, resource or prompt (action list) rather than using it")
	argsJSON := fs.String("args", "", `the call's arguments as a JSON object, e.g. '{"path":"/etc"}'`)
	bundleFile := fs.String("bundle", "", "evaluate this bundle .tar.gz instead of the configured policies")
	asJSON := fs.Bool("json", false, "print the answer as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" || *vs == "" {
		fmt.Fprintln(stderr, "vmcp policy eval: --user and --vs are required")
		return exitCode(2)
	}
	cfg, _, err := devConfig(*path, stderr)
	if err != nil {
		return err
	}
	q := policytool.Question{User: *user, Email: *email, ClientID: *clientID, Groups: splitList(*groups),
		Roles: splitList(*roles), VirtualServer: *vs, Tool: *tool, Connector: *conn, ConnectorTool: *connTool}
	for _, p := range []struct{ primitive, name string }{{"resource", *resource}, {"resource_template", *template}, {"prompt", *prompt}} {
		if p.name == "" {
			continue
		}
		if q.Primitive != "" || *tool != "" {
			fmt.Fprintln(stderr, "vmcp policy eval: ask about one of --tool, --resource, --resource-template, --prompt")
			return exitCode(2)
		}
		q.Primitive, q.Name = p.primitive, p.name
	}
	if *list {
		q.Action = "list"
	}
	if *argsJSON != "" {
		if err := json.Unmarshal([]byte(*argsJSON), &q.Arguments); err != nil || q.Arguments == nil {
			fmt.Fprintln(stderr, "vmcp policy eval: --args must be a JSON object")
			return exitCode(2)
		}
	}
	set, err := policytool.LoadSet(cfg, *bundleFile)
	if err != nil {
		return err
	}
	a, err := policytool.Eval(ctx, cfg, set, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(a); err != nil {
			return err
		}
	} else {
		verdict := "DENY"
		if a.Allow {
			verdict = "ALLOW"
		}
		in, _ := json.MarshalIndent(a.Input, "", "  ")
		fmt.Fprintf(stdout, "%s  %s\nreason:   %s\nrule:     %s\npolicies: %s (revision %s)\ninput:\n%s\n", verdict, a.Query, a.Reason, a.Rule, a.Source, a.Revision, in)
	}
	if !a.Allow {
		return exitCode(3) // scripts can tell a denial from an error (1) and a usage error (2)
	}
	return nil
}

func cmdPolicyTools(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy tools", stderr)
	af := addAdminFlags(fs)
	user := fs.String("as", "", "the user to list tools for (required)")
	groups := fs.String("groups", "", "that user's comma-separated groups")
	vs := fs.String("vs", "", "virtual server (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" || *vs == "" {
		fmt.Fprintln(stderr, "vmcp policy tools: --as and --vs are required")
		return exitCode(2)
	}
	c, err := af.client("policy tools", stderr)
	if err != nil {
		return err
	}
	var ans admin.EffectiveTools
	q := url.Values{"user": {*user}, "vs": {*vs}}
	if *groups != "" {
		q.Set("groups", *groups)
	}
	if err := c.get(ctx, admin.EffectiveToolsPath, q, &ans); err != nil {
		return err
	}
	if *af.json {
		enc := json.NewEncoder(stdout)
		for _, t := range ans.Tools {
			enc.Encode(t)
		}
		return nil
	}
	fmt.Fprintf(stdout, "%d tools for %s (groups %v) on %s:\n", len(ans.Tools), ans.User, ans.Groups, ans.VirtualServer)
	for _, t := range ans.Tools {
		var tool struct{ Name, Description string }
		json.Unmarshal(t, &tool)
		fmt.Fprintf(stdout, "  %-40s %s\n", printable(tool.Name), printable(firstSentence(tool.Description)))
	}
	return nil
}

func firstSentence(s string) string {
	if i := strings.IndexAny(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

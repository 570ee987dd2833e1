package policytool

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/vmcp-dev/vmcp/authz"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/policyset"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

// Question is one dry-run question: may this caller reach the virtual server (no Tool), or call
// (or see, Action list) this tool there?
type Question struct {
	User, Email, ClientID string
	Groups, Roles         []string
	VirtualServer         string
	// Tool is the name the client sees (prefix and renames applied).
	Tool string
	// Connector and ConnectorTool name the tool directly, for virtual servers whose prefix mode
	// names tools from the connectors' live lists (which a dry run does not fetch).
	Connector, ConnectorTool string
	Action                   string // toolpolicy.ActionCall (default) or ActionList; ActionRead (default) or ActionList with Primitive
	Arguments                map[string]any
	// Primitive, when set, asks vmcp.connectors about a resource, resource template or prompt
	// (toolpolicy.PrimitiveResource, …) named Name — a URI, a URI template, or the prompt's name
	// as the client sees it — instead of asking about a tool. Connector names its connector; a
	// prompt's follows from its name when the prefix mode is always.
	Primitive, Name string
}

// Answer is the policy's answer with everything needed to trust it.
type Answer struct {
	Query    string `json:"query"`
	Allow    bool   `json:"allow"`
	Reason   string `json:"reason"`
	Rule     string `json:"rule,omitempty"`
	Revision string `json:"revision"`
	Source   string `json:"source"`
	Result   any    `json:"result"`
	Input    any    `json:"input"`
}

// LoadSet is the policy set cfg decides with: a bundle file (bundleFile, else policy.bundle.file,
// verified when a signing key is configured), else auth.policies, else the defaults.
func LoadSet(cfg *config.Config, bundleFile string) (*policyset.Set, error) {
	b := cfg.Policy.Bundle
	if bundleFile == "" && b != nil && b.File != "" {
		bundleFile = cfg.Resolve(b.File)
	}
	if bundleFile == "" {
		if b != nil && b.URL != "" {
			return nil, errors.New("policies come from a bundle service: download the bundle and pass it with --bundle FILE")
		}
		dir := ""
		if cfg.Auth.Policies != "" {
			dir = cfg.Resolve(cfg.Auth.Policies)
		}
		return policyset.Load(dir)
	}
	f, err := os.Open(bundleFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bundle.NewReader(f)
	if b != nil && b.Signing != nil {
		key, err := os.ReadFile(cfg.Resolve(b.Signing.PublicKeyFile))
		if err != nil {
			return nil, err
		}
		kid := b.Signing.KeyID
		if kid == "" {
			kid = "vmcp"
		}
		alg := b.Signing.Algorithm
		if alg == "" {
			alg = "RS256"
		}
		r = r.WithBundleVerificationConfig(bundle.NewVerificationConfig(
			map[string]*bundle.KeyConfig{kid: {Key: string(key), Algorithm: alg}}, kid, b.Signing.Scope, nil))
	}
	ob, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", bundleFile, err)
	}
	return policyset.FromBundle(&ob, "bundle file "+bundleFile)
}

// Eval answers q with set, building the input exactly as authz (no tool) or extproc and the
// aggregator (a tool) do.
func Eval(ctx context.Context, cfg *config.Config, set *policyset.Set, q Question) (Answer, error) {
	query, input, err := buildQuestion(cfg, q)
	if err != nil {
		return Answer{}, err
	}
	pq, err := set.Prepare(ctx, query)
	if err != nil {
		return Answer{}, err
	}
	d, loc, err := pq.Explain(ctx, input)
	if err != nil {
		return Answer{}, err
	}
	in, err := ast.JSON(input)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Query: query, Allow: d.Allow, Reason: d.Reason, Revision: d.Revision, Source: set.Source, Result: d.Fields, Input: in}
	if loc != nil {
		a.Rule = fmt.Sprintf("%s:%d: %s", loc.File, loc.Row, firstLine(loc.Text))
	}
	return a, nil
}

func buildQuestion(cfg *config.Config, q Question) (string, ast.Value, error) {
	if q.Email == "" {
		q.Email = q.User + "@example.com" // what `vmcp token` puts in a token
	}
	if q.Tool == "" && q.Primitive == "" {
		in, err := authz.DryRunInput(cfg, q.VirtualServer, authz.DryRunCaller{
			Subject: q.User, Email: q.Email, ClientID: q.ClientID, Groups: q.Groups, Roles: q.Roles,
		})
		return authz.Query, in, err
	}
	var vs *config.VirtualServer
	for i := range cfg.VirtualServers {
		if cfg.VirtualServers[i].Name == q.VirtualServer {
			vs = &cfg.VirtualServers[i]
		}
	}
	if vs == nil {
		return "", nil, fmt.Errorf("no virtual server named %q", q.VirtualServer)
	}
	if q.Primitive != "" {
		return primitiveQuestion(vs, q)
	}
	conn, original := q.Connector, q.ConnectorTool
	if conn == "" || original == "" {
		names := toolnames.New(vs)
		var ok bool
		if conn, original, ok = names.Resolve(q.Tool, nil); !ok {
			if !names.Static() {
				return "", nil, fmt.Errorf("virtual server %q names tools from the connectors' lists (prefix mode %q): say which tool with --connector and --connector-tool", vs.Name, vs.Prefix.Mode)
			}
			return "", nil, fmt.Errorf("virtual server %q exposes no tool %q", vs.Name, q.Tool)
		}
	}
	action := q.Action
	if action == "" {
		action = toolpolicy.ActionCall
	}
	in := toolpolicy.Input{
		Action: action,
		Scope: toolpolicy.NewScope(toolpolicy.Caller{Subject: q.User, Email: q.Email, ClientID: q.ClientID, Groups: q.Groups},
			toolpolicy.NewVirtualServer(vs.Name, vs.Access)),
		Connector: conn, Tool: original, Exposed: q.Tool,
	}
	if action == toolpolicy.ActionCall && q.Arguments != nil {
		// Like extproc: a call without arguments has no input.arguments at all.
		in.Arguments = q.Arguments
	}
	v, err := in.Value()
	return toolpolicy.Query, v, err
}

// primitiveQuestion builds vmcp.connectors' input as extproc (action read) and the aggregator
// (action list) do.
func primitiveQuestion(vs *config.VirtualServer, q Question) (string, ast.Value, error) {
	conn := q.Connector
	if conn == "" && q.Primitive == toolpolicy.PrimitivePrompt {
		if c, _, ok := toolnames.ForPrompts(vs).Resolve(q.Name, nil); ok {
			conn = c
		}
	}
	if conn == "" {
		return "", nil, fmt.Errorf("say which connector serves %s %q with --connector", q.Primitive, q.Name)
	}
	action := q.Action
	if action == "" {
		action = toolpolicy.ActionRead
	}
	in := toolpolicy.PrimitiveInput{
		Action: action, Primitive: q.Primitive, Connector: conn, Name: q.Name,
		Scope: toolpolicy.NewScope(toolpolicy.Caller{Subject: q.User, Email: q.Email, ClientID: q.ClientID, Groups: q.Groups},
			toolpolicy.NewVirtualServer(vs.Name, vs.Access)),
	}
	return toolpolicy.ConnectorsQuery, in.Value(), nil
}

func firstLine(b []byte) string {
	for i, c := range b {
		if c == '\n' {
			return string(b[:i]) + " …"
		}
	}
	return string(b)
}

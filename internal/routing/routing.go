// Package routing is vmcp's routing decision for one MCP request: which connector serves it,
// under which of the connector's own names, and whether this caller may do it — or that the
// aggregator answers it, or the JSON-RPC error that refuses it, with the audit fields that say
// why.
//
// It exists so that the decision is made in one place, from one compiled Table per
// configuration, free of any transport: extproc turns a Decision into its ext_proc answer and
// audit event, and the aggregator lists tools and prompts with the same names and policy the
// Table compiled (toolnames, toolpolicy), so that what a client is shown and what it may call
// cannot drift apart. Without Envoy, gRPC or protobuf types, the decision can be read and tested
// as request → decision (testdata/*.txtar).
package routing

import (
	"context"
	"encoding/json"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

// Table is a configuration's routing, compiled once and never changed: a reload compiles a new
// one, which extproc and the aggregator take in together (gateway).
type Table struct {
	byPath map[string]*VirtualServer
	byName map[string]*VirtualServer
	policy *toolpolicy.Policy
}

// VirtualServer is one virtual server's part of a Table.
type VirtualServer struct {
	name      string
	separator string
	// connectors are the names of the configured connectors the virtual server has.
	connectors map[string]bool
	names      *toolnames.Map
	// prompts names prompts: like tools, without per-tool customization.
	prompts *toolnames.Map
	policy  toolpolicy.VirtualServer
	// discovery says whether search_tools and call_tool are answered (metatool.go).
	discovery bool
}

// Compile compiles cfg's routing: its virtual servers by path and by name, their tool and
// prompt names, and the vmcp.tools and vmcp.connectors policies of its active policy set.
func Compile(cfg *config.Config) (*Table, error) {
	policy, err := toolpolicy.Compile(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	defined := make(map[string]bool, len(cfg.Connectors))
	for _, c := range cfg.Connectors {
		defined[c.Name] = true
	}
	t := &Table{
		byPath: make(map[string]*VirtualServer, len(cfg.VirtualServers)),
		byName: make(map[string]*VirtualServer, len(cfg.VirtualServers)),
		policy: policy,
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		v := &VirtualServer{
			name: vs.Name, separator: vs.Prefix.Separator, connectors: make(map[string]bool, len(vs.Connectors)),
			names: toolnames.New(vs), prompts: toolnames.ForPrompts(vs), policy: toolpolicy.NewVirtualServer(vs.Name, vs.Access),
			discovery: vs.Tools.Enabled(),
		}
		for _, ref := range vs.Connectors {
			if defined[ref.Name] {
				v.connectors[ref.Name] = true
			}
		}
		t.byPath[vs.Path] = v
		t.byName[vs.Name] = v
	}
	return t, nil
}

// ByPath is the virtual server served at path (without a query), or nil.
func (t *Table) ByPath(path string) *VirtualServer { return t.byPath[path] }

// ByName is the virtual server of that name, or nil.
func (t *Table) ByName(name string) *VirtualServer { return t.byName[name] }

// Policy is the compiled vmcp.tools and vmcp.connectors policy every decision of this Table
// uses, and the aggregator's lists filter with.
func (t *Table) Policy() *toolpolicy.Policy { return t.policy }

// Name is the virtual server's name.
func (v *VirtualServer) Name() string { return v.name }

// Names maps the virtual server's tool names to its connectors' own.
func (v *VirtualServer) Names() *toolnames.Map { return v.names }

// Prompts maps the virtual server's prompt names to its connectors' own.
func (v *VirtualServer) Prompts() *toolnames.Map { return v.prompts }

// Policy is the virtual server's part of a policy input.
func (v *VirtualServer) Policy() toolpolicy.VirtualServer { return v.policy }

// Catalog answers what routing needs from the connectors' lists: the tool-name index of a
// virtual server whose prefix mode is not always (and of its prompts), whether a connector lists
// a tool, and which connector serves a resource URI. The aggregator implements it from its list
// cache. Its calls are made on the caller's behalf (signedIdentity), and may wait on connectors:
// the ctx given to Decide bounds them.
type Catalog interface {
	// Index names the tools ("tools") or prompts ("prompts") of a virtual server.
	Index(ctx context.Context, signedIdentity, subject, vs, kind string) (*toolnames.Index, error)
	// ResourceConnector names the connector serving a resource URI and the URI it knows it by
	// (they differ for a URI two connectors share, listed as <connector>+<uri>).
	ResourceConnector(ctx context.Context, signedIdentity, subject, vs, uri string) (connector, original string, err error)
	// HasTool says whether connector lists a tool named exactly original on virtual server vs.
	HasTool(ctx context.Context, signedIdentity, subject, vs, connector, original string) (bool, error)
}

// mustJSON encodes what cannot fail to encode (maps of strings).
func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

package config

import (
	"fmt"
	"slices"
	"strings"
)

// DiscoveryMode says whether a virtual server lists its tools or lets clients search them.
type DiscoveryMode string

// Discovery modes.
const (
	// DiscoveryOff lists every tool the caller may see (the default).
	DiscoveryOff DiscoveryMode = "off"
	// DiscoverySearch always lists the meta-tools (and pinned tools) instead of the tools.
	DiscoverySearch DiscoveryMode = "search"
	// DiscoveryAuto searches when the caller may see more tools than the threshold.
	DiscoveryAuto DiscoveryMode = "auto"
)

// DefaultDiscoveryThreshold is the auto-mode threshold when none is configured: past about this
// many tool definitions, models pick tools measurably worse and every turn costs more context.
const DefaultDiscoveryThreshold = 40

// The meta-tools a virtual server in discovery mode lists in place of its tools. Their names
// have no connector prefix, so validation makes sure no connector's prefixed tool can take them.
const (
	// SearchToolsName ranks the tools the caller may see for a query (answered by the aggregator).
	SearchToolsName = "search_tools"
	// CallToolName calls a tool by name (unwrapped by extproc and routed like a direct call).
	CallToolName = "call_tool"
)

// ToolDiscovery configures tool search on a virtual server: a client sees search_tools and
// call_tool (plus pinned tools) instead of hundreds of tool definitions.
type ToolDiscovery struct {
	// Discovery is off, search or auto.
	Discovery DiscoveryMode `yaml:"discovery"`
	// Threshold is, in auto mode, the visible tool count above which search replaces the list.
	Threshold int `yaml:"threshold"`
	// Pinned are tools (by the name clients see) listed even in discovery mode, when the
	// caller may see them.
	Pinned []string `yaml:"pinned"`
}

// Active reports whether a view of visible tools is served in discovery mode. It is the one
// definition of "discovery is on" for the aggregator, the console and `vmcp policy tools`.
func (d ToolDiscovery) Active(visible int) bool {
	switch d.Discovery {
	case DiscoverySearch:
		return true
	case DiscoveryAuto:
		return visible > d.Threshold
	default:
		return false
	}
}

// Enabled reports whether the meta-tools answer at all on this virtual server (search or auto,
// whatever the count): a client that learnt of them keeps working when its view shrinks.
func (d ToolDiscovery) Enabled() bool {
	return d.Discovery == DiscoverySearch || d.Discovery == DiscoveryAuto
}

func applyDiscoveryDefaults(d *ToolDiscovery) {
	if d.Discovery == "" {
		d.Discovery = DiscoveryOff
	}
	if d.Threshold == 0 {
		d.Threshold = DefaultDiscoveryThreshold
	}
}

// validateDiscovery checks virtual server vs (at path p) for tool discovery problems.
func (l *loader) validateDiscovery(p string, vs *VirtualServer) {
	d := &vs.Tools
	switch d.Discovery {
	case DiscoveryOff, DiscoverySearch, DiscoveryAuto:
	default:
		l.add(p+".tools.discovery", "virtual server %q: tools.discovery %q is not off, search or auto", vs.Name, d.Discovery)
	}
	// An unset threshold takes the default; a written 0 would read as "always", which is what
	// discovery: search says, so it is refused rather than silently replaced by the default.
	if n, written := l.positions[p+".tools.threshold"]; d.Threshold < 0 || written && n.Value == "0" {
		l.add(p+".tools.threshold", "virtual server %q: tools.threshold must be at least 1 (discovery: search always searches)", vs.Name)
	}
	if d.Enabled() && vs.Prefix.Mode == PrefixAlways {
		// A connector whose prefix starts a meta-tool name ("search" with separator "_") could
		// list a tool of the same name, and then one name would mean two tools. (In the other
		// prefix modes a connector's own tool may take the name; the aggregator leaves such a
		// tool out while discovery is on.)
		for j, ref := range vs.Connectors {
			for _, meta := range []string{SearchToolsName, CallToolName} {
				if strings.HasPrefix(meta, ref.Name+vs.Prefix.Separator) {
					l.add(fmt.Sprintf("%s.connectors[%d]", p, j), "virtual server %q: connector %q with separator %q could list a tool named %q, which tool discovery reserves", vs.Name, ref.Name, vs.Prefix.Separator, meta)
				}
			}
		}
	}
	seen := map[string]bool{}
	for i, name := range d.Pinned {
		pp := fmt.Sprintf("%s.tools.pinned[%d]", p, i)
		if seen[name] {
			l.add(pp, "virtual server %q: tool %q is pinned twice", vs.Name, name)
			continue
		}
		seen[name] = true
		if !toolNameRE.MatchString(name) {
			l.add(pp, "virtual server %q: pinned %q is not a valid MCP tool name", vs.Name, name)
			continue
		}
		if msg := pinnedProblem(vs, name); msg != "" {
			l.add(pp, "virtual server %q: pinned %q %s", vs.Name, name, msg)
		}
	}
}

// pinnedProblem says why name is not a name clients can see on vs, or "" when it can be. The
// tool itself may come and go with the connector's list; its prefix and customization cannot.
// Outside prefix mode always, an unprefixed name is as good as any: which connector has it
// shows only in the lists.
func pinnedProblem(vs *VirtualServer, name string) string {
	if name == SearchToolsName || name == CallToolName {
		return "is a meta-tool, listed anyway"
	}
	prefix, local, ok := strings.Cut(name, vs.Prefix.Separator)
	if vs.Prefix.Mode != PrefixAlways && (!ok || !slices.ContainsFunc(vs.Connectors, func(r ConnectorRef) bool { return r.Name == prefix })) {
		return ""
	}
	if !ok || local == "" {
		return fmt.Sprintf("must be <connector>%s<tool>", vs.Prefix.Separator)
	}
	for _, ref := range vs.Connectors {
		if ref.Name != prefix {
			continue
		}
		for original, tc := range ref.Tools {
			if tc.Name == local {
				return "" // a renamed tool's new name
			}
			if original == local && (tc.Hidden || tc.Name != "") {
				return "is hidden or renamed on this virtual server; pin the name clients see"
			}
		}
		return ""
	}
	return fmt.Sprintf("names connector %q, which is not on this virtual server", prefix)
}

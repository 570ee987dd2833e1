// Package toolnames maps between the tool names a client sees on a virtual server and the names
// each connector uses: connector prefixes (always, on conflict, or never), per-tool renames and
// hidden tools, compiled once per configuration. The aggregator uses it forward (lists), extproc
// backward (calls); both must agree exactly, or a renamed or hidden tool could be reached by its
// original name.
package toolnames

import (
	"strings"

	"github.com/gobwas/glob"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/toolglob"
)

// Map is one virtual server's naming.
type Map struct {
	mode       config.PrefixMode
	separator  string
	order      []string // connectors in configuration order: who wins a conflict
	connectors map[string]*connectorNames
	// restricted are the access.tools patterns, as written and in lower case, to spot a name
	// that only a difference in case keeps out of a restriction.
	restricted [][2]*glob.Pattern
}

type connectorNames struct {
	custom  map[string]config.ToolCustomization // by original name
	reverse map[string]string                   // new name → original
	// curated are the lower-cased names of the tools the client must not call by the
	// connector's own name: hidden tools and the original names of renamed ones.
	curated map[string]string
}

// New compiles the naming of vs.
func New(vs *config.VirtualServer) *Map {
	m := &Map{mode: vs.Prefix.Mode, separator: vs.Prefix.Separator, connectors: make(map[string]*connectorNames, len(vs.Connectors))}
	if m.mode == "" {
		m.mode = config.PrefixAlways
	}
	for _, ref := range vs.Connectors {
		cn := &connectorNames{custom: ref.Tools, reverse: map[string]string{}, curated: map[string]string{}}
		for original, tc := range ref.Tools {
			if tc.Name != "" {
				cn.reverse[tc.Name] = original
			}
			if tc.Hidden || tc.Name != "" {
				cn.curated[strings.ToLower(original)] = original
			}
		}
		m.connectors[ref.Name] = cn
		m.order = append(m.order, ref.Name)
	}
	for pattern := range vs.Access.Tools {
		exact, err1 := toolglob.Compile(pattern)
		folded, err2 := toolglob.Compile(strings.ToLower(pattern))
		if err1 == nil && err2 == nil {
			m.restricted = append(m.restricted, [2]*glob.Pattern{exact, folded})
		}
	}
	return m
}

// CaseVariant reports whether a tool name the client called (exposed, resolved to connector and
// its original name) differs only in case from a tool vmcp keeps from the caller — a hidden tool,
// the original name of a renamed one, or a name an access.tools restriction matches — without
// being it. Tool names are case-sensitive (MCP 2025-11-25), but a connector that matches them
// case-insensitively would run the hidden or restricted tool under a name no rule names.
func (m *Map) CaseVariant(exposed, connector, original string) bool {
	if cn := m.connectors[connector]; cn != nil {
		if curated, ok := cn.curated[strings.ToLower(original)]; ok && curated != original {
			return true
		}
	}
	lower := strings.ToLower(exposed)
	for _, g := range m.restricted {
		if !g[0].Match(exposed) && g[1].Match(lower) {
			return true
		}
	}
	return false
}

// ForPrompts compiles the naming of vs's prompts: the same prefix mode and separator as its
// tools, without per-tool customization.
func ForPrompts(vs *config.VirtualServer) *Map {
	plain := config.VirtualServer{Prefix: vs.Prefix}
	for _, ref := range vs.Connectors {
		plain.Connectors = append(plain.Connectors, config.ConnectorRef{Name: ref.Name})
	}
	return New(&plain)
}

// Static reports whether names follow from the configuration alone (prefix mode always). Other
// modes need an Index of the tools the connectors actually have.
func (m *Map) Static() bool { return m.mode == config.PrefixAlways }

// Tool is one connector tool, by the connector's own name for it.
type Tool struct{ Connector, Original string }

// Index is the naming of one snapshot of the connectors' tool lists, for the prefix modes in
// which a name depends on what other connectors have.
type Index struct {
	byExposed map[string]Tool
	byTool    map[Tool]string
	// Conflicts are the tools left out in prefix mode never because a connector listed earlier
	// has a tool of the same name.
	Conflicts []Tool
}

// Index names the tools in lists (connector → its original tool names). Connectors missing from
// lists (down, say) simply have no tools in it.
func (m *Map) Index(lists map[string][]string) *Index {
	idx := &Index{byExposed: map[string]Tool{}, byTool: map[Tool]string{}}
	// A name's owners, in configuration order, by the name before any prefix.
	owners := map[string][]Tool{}
	var locals []string
	for _, conn := range m.order {
		cn := m.connectors[conn]
		for _, original := range lists[conn] {
			local, ok := cn.local(original)
			if !ok {
				continue
			}
			if len(owners[local]) == 0 {
				locals = append(locals, local)
			}
			owners[local] = append(owners[local], Tool{conn, original})
		}
	}
	add := func(name string, t Tool) {
		if _, taken := idx.byExposed[name]; taken {
			idx.Conflicts = append(idx.Conflicts, t)
			return
		}
		idx.byExposed[name] = t
		idx.byTool[t] = name
	}
	for _, local := range locals {
		ts := owners[local]
		switch {
		case len(ts) == 1:
			add(local, ts[0])
		case m.mode == config.PrefixOnConflict:
			for _, t := range ts {
				add(t.Connector+m.separator+local, t)
			}
		default: // never: the first connector listed keeps the name
			add(local, ts[0])
			idx.Conflicts = append(idx.Conflicts, ts[1:]...)
		}
	}
	return idx
}

// Len is how many tools the index names.
func (idx *Index) Len() int { return len(idx.byExposed) }

// local is a tool's name on the virtual server before any prefix, and false when it is hidden.
func (cn *connectorNames) local(original string) (string, bool) {
	tc := cn.custom[original]
	if tc.Hidden {
		return "", false
	}
	if tc.Name != "" {
		return tc.Name, true
	}
	return original, true
}

// Expose returns the name and customization a connector's tool has on this virtual server, and
// false when the tool is hidden (or, with idx, left out by a name conflict). idx is consulted
// only when the map is not Static.
func (m *Map) Expose(connector, original string, idx *Index) (string, config.ToolCustomization, bool) {
	cn := m.connectors[connector]
	if cn == nil {
		return "", config.ToolCustomization{}, false
	}
	tc := cn.custom[original]
	local, ok := cn.local(original)
	if !ok {
		return "", tc, false
	}
	if m.Static() {
		return connector + m.separator + local, tc, true
	}
	if idx == nil {
		return "", tc, false
	}
	name, ok := idx.byTool[Tool{connector, original}]
	return name, tc, ok
}

// Resolve returns the connector and its own tool name for a name the client used. Hidden tools,
// and the original names of renamed tools, resolve to nothing. idx is consulted only when the
// map is not Static.
func (m *Map) Resolve(exposed string, idx *Index) (connector, original string, ok bool) {
	if !m.Static() {
		if idx == nil {
			return "", "", false
		}
		t, ok := idx.byExposed[exposed]
		return t.Connector, t.Original, ok
	}
	prefix, local, found := strings.Cut(exposed, m.separator)
	cn := m.connectors[prefix]
	if !found || cn == nil || local == "" {
		return "", "", false
	}
	if orig, renamed := cn.reverse[local]; renamed {
		return prefix, orig, true
	}
	if tc, customized := cn.custom[local]; customized && (tc.Hidden || tc.Name != "") {
		return "", "", false
	}
	return prefix, local, true
}

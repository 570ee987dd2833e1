// Package toolnames maps between the tool names a client sees on a virtual server and the names
// each connector uses: connector prefixes, per-tool renames and hidden tools, compiled once per
// configuration. The aggregator uses it forward (lists), extproc backward (calls); both must
// agree exactly, or a renamed or hidden tool could be reached by its original name.
package toolnames

import (
	"strings"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// Map is one virtual server's naming.
type Map struct {
	separator  string
	connectors map[string]*connectorNames
}

type connectorNames struct {
	custom  map[string]config.ToolCustomization // by original name
	reverse map[string]string                   // new name → original
}

// New compiles the naming of vs.
func New(vs *config.VirtualServer) *Map {
	m := &Map{separator: vs.Prefix.Separator, connectors: make(map[string]*connectorNames, len(vs.Connectors))}
	for _, ref := range vs.Connectors {
		cn := &connectorNames{custom: ref.Tools, reverse: map[string]string{}}
		for original, tc := range ref.Tools {
			if tc.Name != "" {
				cn.reverse[tc.Name] = original
			}
		}
		m.connectors[ref.Name] = cn
	}
	return m
}

// Expose returns the name and customization a connector's tool has on this virtual server, and
// false when the tool is hidden.
func (m *Map) Expose(connector, original string) (string, config.ToolCustomization, bool) {
	cn := m.connectors[connector]
	if cn == nil {
		return "", config.ToolCustomization{}, false
	}
	tc := cn.custom[original]
	if tc.Hidden {
		return "", tc, false
	}
	local := original
	if tc.Name != "" {
		local = tc.Name
	}
	return connector + m.separator + local, tc, true
}

// Resolve returns the connector and its own tool name for a name the client used. Hidden tools,
// and the original names of renamed tools, resolve to nothing.
func (m *Map) Resolve(exposed string) (connector, original string, ok bool) {
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

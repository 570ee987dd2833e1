package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/toolglob"
)

// serversData is the Virtual servers page.
type serversData struct {
	Servers  []serverRow
	Selected *serverDetail
}

type serverRow struct {
	Name, URL  string
	Connectors []string
	Groups     []string
}

// serverDetail is one virtual server: how to connect to it, and what a chosen user sees there.
type serverDetail struct {
	serverRow
	Snippets []snippet
	// The effective tool list as AsUser in AsGroups would see it.
	AsUser, AsGroups string
	Tools            []toolRow
	Hidden           []string
	Restricted       []restriction
	ToolsProblem     string
	ToolsUnavailable bool
}

// snippet is a ready-made client configuration for the virtual server.
type snippet struct{ Client, Where, Text string }

// toolRow is one tool of the effective list, with what curation changed about it.
type toolRow struct {
	Name, Description, Connector string
	Marks                        []string
}

type restriction struct{ Pattern, Groups string }

func (h *Handler) serversPage(w http.ResponseWriter, r *http.Request, v *view) {
	cfg := v.site.cfg
	d := serversData{}
	for i := range cfg.VirtualServers {
		d.Servers = append(d.Servers, serverRowOf(v.site, &cfg.VirtualServers[i]))
	}
	q := r.URL.Query()
	if name := q.Get("vs"); name != "" {
		vs := findVS(cfg, name)
		if vs == nil {
			v.Title, v.Message = "No such virtual server", fmt.Sprintf("There is no virtual server named %q in the configuration.", name)
			h.render(w, http.StatusNotFound, "problem", v)
			return
		}
		d.Selected = h.serverDetail(r.Context(), v, vs, q.Get("user"), q.Get("groups"))
	} else if len(cfg.VirtualServers) == 1 {
		d.Selected = h.serverDetail(r.Context(), v, &cfg.VirtualServers[0], "", "")
	}
	v.Title, v.Nav, v.Data = "Virtual servers", "servers", d
	h.render(w, http.StatusOK, "servers", v)
}

func serverRowOf(site *site, vs *config.VirtualServer) serverRow {
	row := serverRow{Name: vs.Name, URL: site.publicURL + vs.Path, Groups: vs.Access.Groups}
	for _, ref := range vs.Connectors {
		row.Connectors = append(row.Connectors, ref.Name)
	}
	return row
}

func findVS(cfg *config.Config, name string) *config.VirtualServer {
	for i := range cfg.VirtualServers {
		if cfg.VirtualServers[i].Name == name {
			return &cfg.VirtualServers[i]
		}
	}
	return nil
}

// snippets are the client configurations people copy: each client's own documented way of
// adding a remote (Streamable HTTP) MCP server. vmcp's OAuth sign-in needs nothing more: the
// clients discover it from the 401's resource metadata.
func snippets(name, url string) []snippet {
	vscode, _ := json.MarshalIndent(map[string]any{"servers": map[string]any{name: map[string]string{"type": "http", "url": url}}}, "", "  ")
	cursor, _ := json.MarshalIndent(map[string]any{"mcpServers": map[string]any{name: map[string]string{"url": url}}}, "", "  ")
	return []snippet{
		{Client: "Claude Code", Where: "in a terminal", Text: "claude mcp add --transport http " + name + " " + url},
		{Client: "VS Code", Where: ".vscode/mcp.json", Text: string(vscode)},
		{Client: "Cursor", Where: "~/.cursor/mcp.json", Text: string(cursor)},
		{Client: "MCP Inspector", Where: "in a terminal (then pick Streamable HTTP)", Text: "npx @modelcontextprotocol/inspector --cli " + url + " --transport http --method tools/list"},
	}
}

// serverDetail lists the tools user (default: the admin) in groups (comma-separated; default:
// the admin's) would see, and marks what curation and policy did to the list.
func (h *Handler) serverDetail(ctx context.Context, v *view, vs *config.VirtualServer, user, groups string) *serverDetail {
	row := serverRowOf(v.site, vs)
	d := &serverDetail{serverRow: row, Snippets: snippets(vs.Name, row.URL), AsUser: user, AsGroups: groups}
	if d.AsUser == "" {
		d.AsUser = v.User.Subject
		if groups == "" {
			d.AsGroups = strings.Join(v.User.Groups, ",")
		}
	}
	var gs []string
	for _, g := range strings.Split(d.AsGroups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	cur := curationOf(vs)
	d.Hidden = cur.hidden
	for _, p := range sortedKeys(vs.Access.Tools) {
		allowed := vs.Access.Tools[p]
		if !slices.ContainsFunc(allowed, func(g string) bool { return slices.Contains(gs, g) }) {
			d.Restricted = append(d.Restricted, restriction{Pattern: p, Groups: strings.Join(allowed, ", ")})
		}
	}
	if h.cfg.EffectiveTools == nil {
		d.ToolsUnavailable = true
		return d
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.QueryTimeout)
	defer cancel()
	raw, err := h.cfg.EffectiveTools(ctx, d.AsUser, gs, vs.Name)
	if err != nil {
		h.cfg.Log.Warn("console: effective tools", zap.String("vs", vs.Name), zap.Error(err))
		d.ToolsProblem = "The tool list could not be computed: " + err.Error()
		return d
	}
	for _, t := range raw {
		var tool struct{ Name, Description string }
		if json.Unmarshal(t, &tool) != nil || tool.Name == "" {
			continue
		}
		row := toolRow{Name: tool.Name, Description: tool.Description, Connector: connectorOf(vs, tool.Name)}
		row.Marks = cur.marks(vs, tool.Name)
		d.Tools = append(d.Tools, row)
	}
	sort.Slice(d.Tools, func(i, j int) bool { return d.Tools[i].Name < d.Tools[j].Name })
	return d
}

// curation is what a virtual server's configuration does to its connectors' tools.
type curation struct {
	// byExposed maps a renamed tool's new name (without prefix) per connector to its marks.
	renamed   map[[2]string]string // {connector, new name} → original name
	described map[[2]string]bool   // {connector, exposed name before prefix} → description overridden
	hidden    []string             // "connector: tool"
}

func curationOf(vs *config.VirtualServer) curation {
	c := curation{renamed: map[[2]string]string{}, described: map[[2]string]bool{}}
	for _, ref := range vs.Connectors {
		for _, orig := range sortedKeys(ref.Tools) {
			tc := ref.Tools[orig]
			if tc.Hidden {
				c.hidden = append(c.hidden, ref.Name+": "+orig)
				continue
			}
			exposed := orig
			if tc.Name != "" {
				exposed = tc.Name
				c.renamed[[2]string{ref.Name, exposed}] = orig
			}
			if tc.Description != "" {
				c.described[[2]string{ref.Name, exposed}] = true
			}
		}
	}
	return c
}

// marks says what curation changed about the tool the client sees as name.
func (c curation) marks(vs *config.VirtualServer, name string) []string {
	conn := connectorOf(vs, name)
	bare := strings.TrimPrefix(name, conn+vs.Prefix.Separator)
	var marks []string
	if orig, ok := c.renamed[[2]string{conn, bare}]; ok {
		marks = append(marks, "renamed from "+orig)
	}
	if c.described[[2]string{conn, bare}] {
		marks = append(marks, "description overridden")
	}
	for _, p := range sortedKeys(vs.Access.Tools) {
		if toolglob.Match(p, name) { // as vmcp.tools matches: "*" spans "." and "/"
			marks = append(marks, "restricted to "+strings.Join(vs.Access.Tools[p], ", "))
		}
	}
	return marks
}

// connectorOf attributes an exposed tool name to a connector of vs: by its prefix when it has
// one, else the only connector; "" when that cannot be told from the name alone.
func connectorOf(vs *config.VirtualServer, name string) string {
	for _, ref := range vs.Connectors {
		if strings.HasPrefix(name, ref.Name+vs.Prefix.Separator) {
			return ref.Name
		}
	}
	if len(vs.Connectors) == 1 {
		return vs.Connectors[0].Name
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

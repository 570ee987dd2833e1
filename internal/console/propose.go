package console

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// A proposed curation change never touches the running configuration: the console shows the
// change as a diff of the configuration file, checked by the same loader vmcp uses, for an
// administrator to commit (GitOps). The file stays the only source of truth.

// proposal is the Propose change form and, after a post, its outcome.
type proposal struct {
	Servers []serverRow
	// The form.
	VirtualServer, Connector, Tool, Action, Name string
	// The outcome: a diff that loads, or the problems that stop it.
	Diff     []diffLine
	Problems []string
	Path     string
}

// Actions a proposal can take on one connector tool of one virtual server.
const (
	actionRename = "rename"
	actionHide   = "hide"
	actionShow   = "show"
)

func (h *Handler) proposePage(w http.ResponseWriter, r *http.Request, v *view) {
	p := &proposal{Action: actionRename, Path: v.site.cfg.Path}
	h.renderProposal(w, http.StatusOK, v, p)
}

func (h *Handler) renderProposal(w http.ResponseWriter, status int, v *view, p *proposal) {
	for i := range v.site.cfg.VirtualServers {
		p.Servers = append(p.Servers, serverRowOf(v.site, &v.site.cfg.VirtualServers[i]))
	}
	v.Title, v.Nav, v.Data = "Propose a curation change", "propose", p
	h.render(w, status, "propose", v)
}

func (h *Handler) propose(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostForm
	p := &proposal{
		VirtualServer: f.Get("vs"), Connector: f.Get("connector"), Tool: strings.TrimSpace(f.Get("tool")),
		Action: f.Get("action"), Name: strings.TrimSpace(f.Get("name")), Path: v.site.cfg.Path,
	}
	diff, err := proposeDiff(v.site.cfg, p)
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, pr := range ps {
				p.Problems = append(p.Problems, pr.String())
			}
		} else {
			p.Problems = []string{err.Error()}
		}
		h.renderProposal(w, http.StatusUnprocessableEntity, v, p)
		return
	}
	p.Diff = diff
	h.renderProposal(w, http.StatusOK, v, p)
}

// proposeDiff edits the configuration file as p asks, validates the result with the config
// loader, and returns the diff. Errors are the user's to read: they name what is wrong.
func proposeDiff(cfg *config.Config, p *proposal) ([]diffLine, error) {
	if cfg.Path == "" {
		return nil, errors.New("this vmcp runs an embedded configuration, not a file: there is nothing to change")
	}
	switch {
	case p.Tool == "":
		return nil, errors.New("name the connector's own tool to change")
	case p.Action == actionRename && p.Name == "":
		return nil, errors.New("a rename needs the new name")
	case p.Action != actionRename && p.Action != actionHide && p.Action != actionShow:
		return nil, fmt.Errorf("action must be %s, %s or %s", actionRename, actionHide, actionShow)
	}
	vs := findVS(cfg, p.VirtualServer)
	if vs == nil {
		return nil, fmt.Errorf("there is no virtual server named %q", p.VirtualServer)
	}
	if !slicesContainsRef(vs.Connectors, p.Connector) {
		return nil, fmt.Errorf("virtual server %q has no connector %q", vs.Name, p.Connector)
	}
	data, err := os.ReadFile(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("read the configuration file: %w", err)
	}
	edited, err := editCuration(data, p)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(edited, data) {
		return nil, errors.New("the configuration already says this: nothing to change")
	}
	// The same loader a reload runs: a diff shown here is one vmcp accepts.
	if _, err := config.Load(cfg.Path, edited); err != nil {
		return nil, err
	}
	return unifiedDiff(string(data), string(edited), 3)
}

func slicesContainsRef(refs []config.ConnectorRef, name string) bool {
	for _, r := range refs {
		if r.Name == name {
			return true
		}
	}
	return false
}

// editCuration applies p to the YAML document data. Only the changed virtual server's lines are
// rewritten, so comments and formatting elsewhere in the file survive and the diff shows the
// change alone.
func editCuration(data []byte, p *proposal) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, errors.New("the configuration file is not a YAML document")
	}
	root := doc.Content[0]
	servers := mapValue(root, "virtual_servers")
	if servers == nil || servers.Kind != yaml.SequenceNode {
		return nil, errors.New("the configuration file has no virtual_servers list")
	}
	idx := -1
	for i, item := range servers.Content {
		if n := mapValue(item, "name"); n != nil && n.Value == p.VirtualServer {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("virtual server %q is not in the configuration file", p.VirtualServer)
	}
	item := servers.Content[idx]
	conns := mapValue(item, "connectors")
	if conns == nil || conns.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("virtual server %q has no connectors list", p.VirtualServer)
	}
	var ref *yaml.Node
	for i, c := range conns.Content {
		switch {
		case c.Kind == yaml.ScalarNode && c.Value == p.Connector:
			// The short form "- notes" becomes "- name: notes" to hold tools.
			ref = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("name"), scalar(p.Connector)}}
			conns.Content[i] = ref
		case c.Kind == yaml.MappingNode && mapValue(c, "name") != nil && mapValue(c, "name").Value == p.Connector:
			ref = c
		}
	}
	if ref == nil {
		return nil, fmt.Errorf("connector %q is not listed in virtual server %q", p.Connector, p.VirtualServer)
	}
	tools := ensureMap(ref, "tools")
	tc := ensureMap(tools, p.Tool)
	switch p.Action {
	case actionRename:
		setScalar(tc, "name", p.Name, "!!str")
	case actionHide:
		setScalar(tc, "hidden", "true", "!!bool")
	case actionShow:
		deleteKey(tc, "hidden")
	}
	if len(tc.Content) == 0 {
		deleteKey(tools, p.Tool)
	}
	if len(tools.Content) == 0 {
		deleteKey(ref, "tools")
	}
	blockStyle(item)
	return replaceItem(data, root, servers, idx)
}

// replaceItem re-renders virtual server idx in place of its original lines. A flow-style list
// cannot be cut by lines; the whole document is re-rendered then.
func replaceItem(data []byte, root, servers *yaml.Node, idx int) ([]byte, error) {
	item := servers.Content[idx]
	lines := strings.SplitAfter(string(data), "\n")
	if servers.Style&yaml.FlowStyle != 0 || item.Line < 1 || item.Line > len(lines) {
		return encodeYAML(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, "")
	}
	start := item.Line - 1
	end := len(lines)
	if idx+1 < len(servers.Content) {
		end = servers.Content[idx+1].Line - 1
	} else {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Line > item.Line && k.Line-1 < end {
				end = k.Line - 1
			}
		}
	}
	// Blank lines and comments before the next entry belong to it.
	for end > start+1 && isBlankOrComment(lines[end-1]) {
		end--
	}
	first := lines[start]
	dash := strings.LastIndex(first[:min(item.Column-1, len(first))], "-")
	if dash < 0 {
		return encodeYAML(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, "")
	}
	// The entry's own head and foot comments sit outside the replaced lines and stay there.
	entry := *item
	entry.HeadComment, entry.FootComment = "", ""
	rendered, err := encodeYAML(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{&entry}}, strings.Repeat(" ", dash))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, l := range lines[:start] {
		out.WriteString(l)
	}
	out.Write(rendered)
	for _, l := range lines[end:] {
		out.WriteString(l)
	}
	return out.Bytes(), nil
}

// encodeYAML renders n with two-space indentation, each line prefixed by indent.
func encodeYAML(n *yaml.Node, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("render the edited configuration: %w", err)
	}
	enc.Close()
	if indent == "" {
		return buf.Bytes(), nil
	}
	var out bytes.Buffer
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l != "" {
			out.WriteString(indent + l)
		}
	}
	return out.Bytes(), nil
}

func isBlankOrComment(l string) bool {
	t := strings.TrimSpace(l)
	return t == "" || strings.HasPrefix(t, "#")
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

// mapValue returns the value under key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ensureMap returns the mapping under key in m, adding an empty one when there is none (or when
// the value is null, as "tools:" with nothing after it is).
func ensureMap(m *yaml.Node, key string) *yaml.Node {
	if v := mapValue(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	deleteKey(m, key)
	v := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, scalar(key), v)
	return v
}

func setScalar(m *yaml.Node, key, value, tag string) {
	if v := mapValue(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Style, v.Content = yaml.ScalarNode, tag, value, 0, nil
		return
	}
	m.Content = append(m.Content, scalar(key), &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value})
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// blockStyle renders the edited entry's connectors in block style: a flow list holding a
// mapping with nested tools would be one unreadable line.
func blockStyle(item *yaml.Node) {
	if conns := mapValue(item, "connectors"); conns != nil {
		if conns.Style&yaml.FlowStyle != 0 && conns.LineComment != "" {
			// "connectors: [a, b]  # note" keeps its note on the key line.
			for i := 0; i+1 < len(item.Content); i += 2 {
				if item.Content[i+1] == conns {
					item.Content[i].LineComment, conns.LineComment = conns.LineComment, ""
				}
			}
		}
		conns.Style &^= yaml.FlowStyle
		for _, c := range conns.Content {
			if c.Kind == yaml.MappingNode {
				c.Style &^= yaml.FlowStyle
				if t := mapValue(c, "tools"); t != nil {
					t.Style &^= yaml.FlowStyle
				}
			}
		}
	}
	item.Style &^= yaml.FlowStyle
}

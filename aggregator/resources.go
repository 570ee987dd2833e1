package aggregator

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// Two connectors of a virtual server may list the same resource URI (or resource template):
// both "file:///README.md", say. Resources follow the virtual server's prefix mode as tools
// do, adapted to URIs, which a connector prefix with the tool separator would not leave valid:
//   - always and on_conflict: a URI (or template) listed by more than one connector is listed
//     once per connector as <connector>+<uri> ("notes+file:///README.md", a URI whose scheme
//     names both, like git+https), and reading that URI reads the connector's own. A URI only
//     one connector lists keeps its own name, so clients that know it keep working.
//   - never: the connector listed first in the virtual server wins; the other's is left out
//     (and logged), exactly as for tools.
// Without this, both were listed and only one could be read.

// QualifiedResourceSeparator joins a connector's name to a resource URI it shares with another
// connector.
const QualifiedResourceSeparator = "+"

// resourceOwners counts, for each URI (or template) in outcomes, the connectors listing it.
func resourceOwners(outcomes []outcome, field string) map[string][]string {
	owners := map[string][]string{}
	for _, o := range outcomes {
		if o.err != nil {
			continue
		}
		for _, item := range o.value.([]map[string]json.RawMessage) {
			var v string
			if json.Unmarshal(item[field], &v) != nil {
				continue
			}
			if l := owners[v]; len(l) == 0 || l[len(l)-1] != o.connector.name {
				owners[v] = append(l, o.connector.name)
			}
		}
	}
	return owners
}

// listResources merges resources/list or resources/templates/list (key "resources" or
// "resourceTemplates") under the collision rules above.
func (s *Server) listResources(ctx context.Context, req *request, method, key, cursor string) (map[string]any, *jsonrpc.Error) {
	outcomes := s.listEverywhere(ctx, req, method, key)
	_, field := primitiveOf(key)
	owners := resourceOwners(outcomes, field)
	visible := s.listedTo(ctx, req, key)
	items := []json.RawMessage{}
	for _, o := range outcomes {
		if o.err != nil {
			continue
		}
		for _, cached := range o.value.([]map[string]json.RawMessage) {
			item := cached
			var v string
			if json.Unmarshal(item[field], &v) == nil && len(owners[v]) > 1 {
				if req.vs.resourceMode == config.PrefixNever {
					if owners[v][0] != o.connector.name {
						s.log.Warn("aggregator: left out: another connector has a resource of the same URI (prefix mode never)",
							zap.String("vs", req.vs.name), zap.String("connector", o.connector.name), zap.String(field, v))
						continue
					}
				} else {
					// Lists are cached and shared between requests: change a copy.
					item = maps.Clone(cached)
					item[field], _ = json.Marshal(o.connector.name + QualifiedResourceSeparator + v)
				}
			}
			if !visible(o.connector.name, item[field]) {
				continue
			}
			if b, err := json.Marshal(item); err == nil {
				items = append(items, b)
			}
		}
	}
	return page(items, key, cursor)
}

// ResourceConnector says which connector of a virtual server serves a resource URI, and the
// URI that connector knows it by: the one listing it, else the one with a resource template it
// fits (the longest literal part wins) — under the collision rules above. A URI no connector
// can be told to serve gets "".
func (s *Server) ResourceConnector(ctx context.Context, signedIdentity, subject, vs, uri string) (string, string, error) {
	req, err := s.requestFor(signedIdentity, subject, vs)
	if err != nil {
		return "", "", err
	}
	never := req.vs.resourceMode == config.PrefixNever
	// A qualified URI: <connector>+<uri>, for a URI that connector shares with another.
	qualifiedBy, rest := "", ""
	if name, r, ok := strings.Cut(uri, QualifiedResourceSeparator); ok && !never {
		for _, c := range req.vs.connectors {
			if c.name == name {
				qualifiedBy, rest = name, r
			}
		}
	}

	listed := s.listEverywhere(ctx, req, "resources/list", "resources")
	owners := resourceOwners(listed, "uri")
	if qualifiedBy != "" && len(owners[rest]) > 1 && slices.Contains(owners[rest], qualifiedBy) {
		return qualifiedBy, rest, nil
	}
	switch l := owners[uri]; {
	case len(l) == 1, len(l) > 1 && never:
		return l[0], uri, nil
	case len(l) > 1:
		return "", "", nil // ambiguous: the list names it <connector>+<uri> only
	}

	templates := s.listEverywhere(ctx, req, "resources/templates/list", "resourceTemplates")
	towners := resourceOwners(templates, "uriTemplate")
	best, bestURI, bestLen := "", "", -1
	consider := func(connector, template, target string) {
		// The literal part before the first expression must match; the longest wins.
		lit, _, _ := strings.Cut(template, "{")
		if strings.HasPrefix(target, lit) && len(lit) > bestLen {
			best, bestURI, bestLen = connector, target, len(lit)
		}
	}
	for _, o := range templates {
		if o.err != nil {
			continue
		}
		for _, item := range o.value.([]map[string]json.RawMessage) {
			var t string
			if json.Unmarshal(item["uriTemplate"], &t) != nil {
				continue
			}
			shared := len(towners[t]) > 1
			switch {
			case shared && never && towners[t][0] != o.connector.name:
				// Left out of the list: not reachable either.
			case shared && !never:
				if qualifiedBy == o.connector.name {
					consider(o.connector.name, t, rest)
				}
			default:
				consider(o.connector.name, t, uri)
			}
		}
	}
	return best, bestURI, nil
}

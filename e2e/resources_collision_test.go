package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// readmeConnector is an MCP server whose resources collide with another's: file:///README.md
// and the template doc://{name} on both, plus one resource of its own.
func readmeConnector(name string) http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	text := func(uri, s string) *mcp.ReadResourceResult {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: s}}}
	}
	srv.AddResource(&mcp.Resource{URI: "file:///README.md", Name: "readme", MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return text(req.Params.URI, name+" readme"), nil
		})
	srv.AddResource(&mcp.Resource{URI: "file:///" + name + ".txt", Name: name, MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return text(req.Params.URI, name+" only"), nil
		})
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "doc://{name}", Name: "doc", MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return text(req.Params.URI, name+": "+req.Params.URI), nil
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

func readText(t *testing.T, cs *mcp.ClientSession, uri string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
	if err != nil {
		return "", err
	}
	if len(res.Contents) != 1 {
		t.Fatalf("read %s: %d contents", uri, len(res.Contents))
	}
	return res.Contents[0].Text, nil
}

// Two connectors exposing the same resource URI (and template): both used to be listed, and
// only one could be read. Resources follow the virtual server's prefix mode as tools do.
func TestTwoConnectorsWithTheSameResourceURIAreBothReadable(t *testing.T) {
	s := startSystem(t)
	s.addConnector(harness.Connector{Name: "alpha", Timeout: 5 * time.Second}, readmeConnector("alpha"))
	s.addConnector(harness.Connector{Name: "beta", Timeout: 5 * time.Second}, readmeConnector("beta"))
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "shared", Connectors: []string{"alpha", "beta"}},
			harness.VirtualServer{Name: "firstwins", Connectors: []string{"alpha", "beta"}, Prefix: "never"})
	})
	ctx := context.Background()

	// Prefix modes always and on_conflict: a shared URI is listed once per connector as
	// <connector>+<uri>, and each reads that connector's own; a URI of one connector keeps its name.
	cs := connect(t, s.url("shared"), s.token("alice", "shared"))
	list, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
	}
	slices.Sort(uris)
	if want := []string{"alpha+file:///README.md", "beta+file:///README.md", "file:///alpha.txt", "file:///beta.txt"}; !slices.Equal(uris, want) {
		t.Fatalf("resources/list: %v, want %v", uris, want)
	}
	for uri, want := range map[string]string{
		"alpha+file:///README.md": "alpha readme",
		"beta+file:///README.md":  "beta readme",
		"file:///beta.txt":        "beta only",
		"alpha+doc://x":           "alpha: doc://x",
		"beta+doc://x":            "beta: doc://x",
	} {
		if got, err := readText(t, cs, uri); err != nil || got != want {
			t.Errorf("read %s: %q %v, want %q", uri, got, err, want)
		}
	}
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl []string
	for _, r := range templates.ResourceTemplates {
		tmpl = append(tmpl, r.URITemplate)
	}
	slices.Sort(tmpl)
	if want := []string{"alpha+doc://{name}", "beta+doc://{name}"}; !slices.Equal(tmpl, want) {
		t.Fatalf("resources/templates/list: %v, want %v", tmpl, want)
	}
	// The shared URI unqualified names no one connector: a clear error, not a guess.
	if _, err := readText(t, cs, "file:///README.md"); err == nil || !strings.Contains(err.Error(), `unknown resource "file:///README.md"`) {
		t.Errorf("read of the ambiguous URI: %v", err)
	}

	// Prefix mode never: the connector listed first wins, as for tools.
	fw := connect(t, s.url("firstwins"), s.token("alice", "firstwins"))
	list, err = fw.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	uris = uris[:0]
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
	}
	slices.Sort(uris)
	if want := []string{"file:///README.md", "file:///alpha.txt", "file:///beta.txt"}; !slices.Equal(uris, want) {
		t.Fatalf("resources/list with prefix mode never: %v, want %v", uris, want)
	}
	if got, err := readText(t, fw, "file:///README.md"); err != nil || got != "alpha readme" {
		t.Errorf("read with prefix mode never: %q %v, want alpha's", got, err)
	}
}

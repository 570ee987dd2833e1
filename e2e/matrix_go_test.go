package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// goConnect opens a go-sdk client session; opts carries the handlers of the run.
type goConnect func(ctx context.Context, opts *mcp.ClientOptions) (*mcp.ClientSession, error)

// runGoClient runs the matrix's steps with a go-sdk client session, over whatever transport
// connect uses (Streamable HTTP to vmcp, or stdio to a bridge). The tools list change is watched
// on a second session that asks for it: in 2026-07-28 the go-sdk opens subscriptions/listen
// while connecting when a list-changed handler is set, and a failure there must not hide the
// other capabilities.
func runGoClient(t *testing.T, m *matrixServer, client string, connect goConnect) matrixResult {
	t.Helper()
	var res matrixResult
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := connect(ctx, &mcp.ClientOptions{})
	if err != nil {
		res.set(stepConnect, nil, err)
		return res
	}
	defer cs.Close()
	res.set(stepConnect, map[string]string{"protocolVersion": cs.InitializeResult().ProtocolVersion}, nil)

	listTools := func(cs *mcp.ClientSession) ([]string, error) {
		var names []string
		for tool, err := range cs.Tools(ctx, nil) {
			if err != nil {
				return nil, err
			}
			names = append(names, tool.Name)
		}
		return names, nil
	}
	names, err := listTools(cs)
	res.set(stepTools, names, err)

	var uris []string
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			uris = nil
			res.set(stepResources, nil, err)
			break
		}
		uris = append(uris, r.URI)
	}
	if uris != nil {
		res.set(stepResources, uris, nil)
	}
	var prompts []string
	for p, err := range cs.Prompts(ctx, nil) {
		if err != nil {
			prompts = nil
			res.set(stepPrompts, nil, err)
			break
		}
		prompts = append(prompts, p.Name)
	}
	if prompts != nil {
		res.set(stepPrompts, prompts, nil)
	}

	call := func(step, name string, args map[string]any) {
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err == nil && r.IsError {
			err = fmt.Errorf("%s returned an error: %s", name, textOf(r.Content))
		}
		if err != nil {
			res.set(step, nil, err)
			return
		}
		res.set(step, textOf(r.Content), nil)
	}
	call(stepCallNotes, "notes__add_note", map[string]any{"title": matrixNoteTitle(client), "body": "through vmcp"})
	call(stepCallWeather, "weather__get_forecast", map[string]any{"city": "Oslo", "days": 1})

	if r, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "notes://all"}); err != nil {
		res.set(stepRead, nil, err)
	} else {
		var b strings.Builder
		for _, c := range r.Contents {
			b.WriteString(c.Text)
		}
		res.set(stepRead, b.String(), nil)
	}
	if r, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "notes__summarize_notes", Arguments: map[string]string{"focus": "interop"}}); err != nil {
		res.set(stepPrompt, nil, err)
	} else {
		var contents []mcp.Content
		for _, msg := range r.Messages {
			contents = append(contents, msg.Content)
		}
		res.set(stepPrompt, textOf(contents), nil)
	}

	changed := make(chan struct{}, 1)
	watcher, err := connect(ctx, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		res.set(stepListChanged, nil, err)
		return res
	}
	defer watcher.Close()
	hidden := m.toggleTools()
	res.hiddenAfterEdit = &hidden
	select {
	case <-changed:
		names, err := listTools(watcher)
		res.set(stepListChanged, names, err)
	case <-time.After(30 * time.Second):
		res.set(stepListChanged, nil, fmt.Errorf("no notifications/tools/list_changed within 30s of the configuration edit"))
	}
	return res
}

// The go-sdk (the version in go.mod) through vmcp with a bearer token, in both revisions it
// speaks: its default, 2026-07-28 (server/discover, no session), and 2025-11-25 (initialize and
// a session), which a client asks for with ClientSessionOptions.ProtocolVersion.
func TestGoSDKClientWorksThroughVMCPInBothRevisions(t *testing.T) {
	m := startMatrix(t)
	for _, tc := range []struct {
		name, revision, ask string
	}{
		{"default client (2026-07-28)", revModern, ""},
		{"client asking for 2025-11-25", revLegacy, revLegacy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := m.token("alice", matrixVS)
			res := runGoClient(t, m, "go-sdk", func(ctx context.Context, opts *mcp.ClientOptions) (*mcp.ClientSession, error) {
				client := mcp.NewClient(&mcp.Implementation{Name: "vmcp-matrix-go", Version: "1"}, opts)
				return client.Connect(ctx, &mcp.StreamableClientTransport{
					Endpoint:   m.url(matrixVS),
					HTTPClient: &http.Client{Transport: edgeclient.Bearer{Token: token, Base: http.DefaultTransport}},
				}, &mcp.ClientSessionOptions{ProtocolVersion: tc.ask})
			})
			assertMatrixRow(t, res, rowWant{client: "go-sdk", revision: tc.revision, listChanged: true})
		})
	}
}

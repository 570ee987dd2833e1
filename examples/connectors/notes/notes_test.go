package notes

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

const testToken = "notes-connector-secret"

// modes runs every MCP-level test against both transports go-sdk offers: the stateful 2025
// revisions and the session-less 2026-07-28 revision.
var modes = []struct {
	name        string
	stateless   bool
	wantVersion string
}{
	{"stateful", false, "2025-11-25"},
	{"stateless", true, "2026-07-28"},
}

func connect(t *testing.T, url, token string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "notes-test", Version: "0"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint: url,
		// The connector credential, added the way vmcp's egress does.
		HTTPClient: &http.Client{Transport: edgeclient.Bearer{Token: token, Base: http.DefaultTransport}},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func startNotes(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return srv
}

// call returns the text of a tool result and whether it was a tool error.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", tool, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}

func TestToolsAreListedWithTheirRequiredArguments(t *testing.T) {
	want := map[string][]string{
		"add_note":     {"body", "title"},
		"get_note":     {"id"},
		"list_notes":   nil,
		"search_notes": {"query"},
		"session_info": nil,
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := startNotes(t, Options{Token: testToken, Stateless: m.stateless})
			cs := connect(t, srv.URL, testToken)
			if v := cs.InitializeResult().ProtocolVersion; v != m.wantVersion {
				t.Errorf("negotiated protocol version %s, want %s", v, m.wantVersion)
			}
			res, err := cs.ListTools(t.Context(), nil)
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			got := map[string][]string{}
			for _, tool := range res.Tools {
				raw, err := json.Marshal(tool.InputSchema)
				if err != nil {
					t.Fatalf("%s: marshal schema: %v", tool.Name, err)
				}
				var schema struct {
					Required []string `json:"required"`
				}
				if err := json.Unmarshal(raw, &schema); err != nil {
					t.Fatalf("%s: decode schema: %v", tool.Name, err)
				}
				slices.Sort(schema.Required)
				got[tool.Name] = schema.Required
			}
			if len(got) != len(want) {
				t.Fatalf("tools = %v, want %v", got, want)
			}
			for name, req := range want {
				if g, ok := got[name]; !ok || !slices.Equal(g, req) {
					t.Errorf("tool %s required = %v (listed: %v), want %v", name, g, ok, req)
				}
			}
		})
	}
}

func TestToolCalls(t *testing.T) {
	cases := []struct {
		name    string
		tool    string
		args    any
		wantErr bool
		want    []string
		notWant []string
	}{
		{name: "add_note returns the next id", tool: "add_note",
			args: map[string]any{"title": "Ideas", "body": "a notes connector"}, want: []string{`"id":"note-3"`}},
		{name: "add_note without a title is a tool error", tool: "add_note",
			args: map[string]any{"body": "orphan"}, wantErr: true, want: []string{"title"}},
		{name: "add_note with a blank title is a tool error", tool: "add_note",
			args: map[string]any{"title": "  ", "body": "x"}, wantErr: true, want: []string{"title must not be empty"}},
		{name: "add_note with a number for a title is a tool error", tool: "add_note",
			args: map[string]any{"title": 7, "body": "x"}, wantErr: true, want: []string{"title"}},
		{name: "add_note with an oversized title is a tool error", tool: "add_note",
			args: map[string]any{"title": strings.Repeat("t", maxTitleRunes+1), "body": "x"}, wantErr: true, want: []string{"longer than"}},
		{name: "add_note with an unknown argument is a tool error", tool: "add_note",
			args: map[string]any{"title": "a", "body": "b", "tags": "x"}, wantErr: true, want: []string{`additional properties ["tags"]`}},
		{name: "list_notes without any arguments works", tool: "list_notes",
			args: nil, want: []string{"Groceries"}},
		{name: "list_notes returns every id and title", tool: "list_notes",
			args: map[string]any{}, want: []string{`"id":"note-1"`, "Groceries", "Trip", "Ideas"}},
		{name: "get_note returns title and body", tool: "get_note",
			args: map[string]any{"id": "note-1"}, want: []string{"Groceries", "milk and eggs"}},
		{name: "get_note with an unknown id is a tool error", tool: "get_note",
			args: map[string]any{"id": "note-99"}, wantErr: true, want: []string{`note "note-99" not found`}},
		{name: "get_note without an id is a tool error", tool: "get_note",
			args: map[string]any{}, wantErr: true, want: []string{"id"}},
		{name: "search_notes matches bodies case-insensitively", tool: "search_notes",
			args: map[string]any{"query": "LISBON"}, want: []string{"Trip"}, notWant: []string{"Groceries"}},
		{name: "search_notes without a match returns an empty list", tool: "search_notes",
			args: map[string]any{"query": "nothing like this"}, want: []string{`"notes":[]`}},
		{name: "search_notes with an empty query is a tool error", tool: "search_notes",
			args: map[string]any{"query": ""}, wantErr: true, want: []string{"query must not be empty"}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cs := connect(t, startNotes(t, Options{Token: testToken, Stateless: m.stateless}).URL, testToken)
			for _, n := range []map[string]any{
				{"title": "Groceries", "body": "milk and eggs"},
				{"title": "Trip", "body": "book flights to Lisbon"},
			} {
				if text, isErr := call(t, cs, "add_note", n); isErr {
					t.Fatalf("setup add_note: %s", text)
				}
			}
			// The cases share one store and run in order: add_note above is the third note.
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					text, isErr := call(t, cs, tc.tool, tc.args)
					if isErr != tc.wantErr {
						t.Fatalf("isError = %v, want %v; text: %s", isErr, tc.wantErr, text)
					}
					for _, w := range tc.want {
						if !strings.Contains(text, w) {
							t.Errorf("result %q does not contain %q", text, w)
						}
					}
					for _, w := range tc.notWant {
						if strings.Contains(text, w) {
							t.Errorf("result %q contains %q", text, w)
						}
					}
				})
			}
		})
	}
}

func TestPromptAndResourceSeeTheStoredNotes(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cs := connect(t, startNotes(t, Options{Token: testToken, Stateless: m.stateless}).URL, testToken)
			if text, isErr := call(t, cs, "add_note", map[string]any{"title": "Trip", "body": "book flights"}); isErr {
				t.Fatalf("add_note: %s", text)
			}

			prompt, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{
				Name: "summarize_notes", Arguments: map[string]string{"focus": "travel"},
			})
			if err != nil {
				t.Fatalf("prompts/get: %v", err)
			}
			if len(prompt.Messages) != 1 {
				t.Fatalf("prompt messages = %d, want 1", len(prompt.Messages))
			}
			text := prompt.Messages[0].Content.(*mcp.TextContent).Text
			for _, w := range []string{"focusing on travel", "Trip", "book flights"} {
				if !strings.Contains(text, w) {
					t.Errorf("prompt text %q does not contain %q", text, w)
				}
			}

			res, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: AllNotesURI})
			if err != nil {
				t.Fatalf("resources/read: %v", err)
			}
			var notes []Note
			if err := json.Unmarshal([]byte(res.Contents[0].Text), &notes); err != nil {
				t.Fatalf("resource is not a JSON note list: %v", err)
			}
			want := []Note{{ID: "note-1", Title: "Trip", Body: "book flights"}}
			if !slices.Equal(notes, want) {
				t.Errorf("resource notes = %+v, want %+v", notes, want)
			}
		})
	}
}

package notes

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type addNoteIn struct {
	Title string `json:"title" jsonschema:"short title of the note (1-200 characters)"`
	Body  string `json:"body" jsonschema:"text of the note"`
}

type addNoteOut struct {
	ID string `json:"id" jsonschema:"id of the new note, for get_note"`
}

// Summary is what list_notes and search_notes return per note: enough to pick one for get_note.
type Summary struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type listOut struct {
	Notes []Summary `json:"notes"`
}

type getNoteIn struct {
	ID string `json:"id" jsonschema:"note id as returned by add_note or list_notes"`
}

// Note is a whole stored note as get_note returns it.
type Note struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

type searchIn struct {
	Query string `json:"query" jsonschema:"text to look for, case-insensitive, in titles and bodies"`
}

// addTools registers the four tools. Errors returned by the handlers become tool results with
// isError set (go-sdk does that for any non-JSON-RPC error), so a model sees what to fix; bad
// argument types and missing fields are rejected the same way by go-sdk's schema validation.
func addTools(srv *mcp.Server, s *store) {
	mcp.AddTool(srv, &mcp.Tool{Name: "add_note", Description: "Store a new note and return its id."},
		func(_ context.Context, _ *mcp.CallToolRequest, in addNoteIn) (*mcp.CallToolResult, addNoteOut, error) {
			n, err := s.add(in.Title, in.Body)
			if err != nil {
				return nil, addNoteOut{}, err
			}
			return nil, addNoteOut{ID: n.ID}, nil
		})

	mcp.AddTool(srv, &mcp.Tool{Name: "list_notes", Description: "List the ids and titles of all notes."},
		func(_ context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, listOut, error) {
			return nil, listOut{Notes: summaries(s.all())}, nil
		})

	mcp.AddTool(srv, &mcp.Tool{Name: "get_note", Description: "Return one note's title and body."},
		func(_ context.Context, _ *mcp.CallToolRequest, in getNoteIn) (*mcp.CallToolResult, Note, error) {
			n, err := s.get(in.ID)
			if err != nil {
				return nil, Note{}, err
			}
			return nil, Note(n), nil
		})

	mcp.AddTool(srv, &mcp.Tool{Name: "search_notes", Description: "Find notes whose title or body contains the query."},
		func(_ context.Context, _ *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, listOut, error) {
			found, err := s.search(in.Query)
			if err != nil {
				return nil, listOut{}, err
			}
			return nil, listOut{Notes: summaries(found)}, nil
		})
}

// summaries never returns nil: the output schema says "array", and null would fail go-sdk's
// output validation.
func summaries(ns []note) []Summary {
	out := make([]Summary, 0, len(ns))
	for _, n := range ns {
		out = append(out, Summary{ID: n.ID, Title: n.Title})
	}
	return out
}

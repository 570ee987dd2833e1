package notes

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addPrompt registers summarize_notes. It exists so that prompts/list and prompts/get have a
// real connector to travel through in vmcp's tests, with one optional argument to pass along.
func addPrompt(srv *mcp.Server, s *store) {
	srv.AddPrompt(&mcp.Prompt{
		Name:        "summarize_notes",
		Description: "Ask the model to summarize every stored note.",
		Arguments: []*mcp.PromptArgument{{
			Name:        "focus",
			Description: "optional topic the summary should concentrate on",
		}},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		var b strings.Builder
		b.WriteString("Summarize the following notes")
		if focus := strings.TrimSpace(req.Params.Arguments["focus"]); focus != "" {
			fmt.Fprintf(&b, ", focusing on %s", focus)
		}
		b.WriteString(".\n")
		notes := s.all()
		if len(notes) == 0 {
			b.WriteString("\n(There are no notes yet.)\n")
		}
		for _, n := range notes {
			fmt.Fprintf(&b, "\n## %s (%s)\n%s\n", n.Title, n.ID, n.Body)
		}
		return &mcp.GetPromptResult{
			Description: "Summary request for all notes",
			Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: b.String()}}},
		}, nil
	})
}

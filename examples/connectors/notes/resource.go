package notes

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// AllNotesURI names the resource holding every note as a JSON array of {id, title, body}.
const AllNotesURI = "notes://all"

// addResource registers notes://all so that resources/list and resources/read have a real
// connector behind them in vmcp's tests.
func addResource(srv *mcp.Server, s *store) {
	srv.AddResource(&mcp.Resource{
		URI:         AllNotesURI,
		Name:        "all_notes",
		Description: "Every stored note as a JSON array of {id, title, body}.",
		MIMEType:    "application/json",
	}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		all := s.all()
		out := make([]Note, 0, len(all))
		for _, n := range all {
			out = append(out, Note(n))
		}
		data, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("encode notes: %w", err)
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
			URI: req.Params.URI, MIMEType: "application/json", Text: string(data),
		}}}, nil
	})
}

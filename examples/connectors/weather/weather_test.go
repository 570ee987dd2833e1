package weather

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

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

func connect(t *testing.T, opts Options) *mcp.ClientSession {
	t.Helper()
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	client := mcp.NewClient(&mcp.Implementation{Name: "weather-test", Version: "0"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: srv.URL, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", srv.URL, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
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

// schemaProp is the part of a listed input schema the tests look at.
type schemaProp struct {
	Type    string   `json:"type"`
	Minimum *float64 `json:"minimum"`
	Maximum *float64 `json:"maximum"`
	Enum    []string `json:"enum"`
}

func TestToolsAreListedWithTheirConstraints(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cs := connect(t, Options{Stateless: m.stateless})
			if v := cs.InitializeResult().ProtocolVersion; v != m.wantVersion {
				t.Errorf("negotiated protocol version %s, want %s", v, m.wantVersion)
			}
			res, err := cs.ListTools(t.Context(), nil)
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			schemas := map[string]struct {
				Required   []string              `json:"required"`
				Properties map[string]schemaProp `json:"properties"`
			}{}
			for _, tool := range res.Tools {
				raw, err := json.Marshal(tool.InputSchema)
				if err != nil {
					t.Fatalf("%s: marshal schema: %v", tool.Name, err)
				}
				s := schemas[tool.Name]
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatalf("%s: decode schema: %v", tool.Name, err)
				}
				slices.Sort(s.Required)
				schemas[tool.Name] = s
			}
			if len(schemas) != 2 {
				t.Fatalf("listed %d tools, want get_forecast and convert_temperature", len(schemas))
			}
			f := schemas["get_forecast"]
			if !slices.Equal(f.Required, []string{"city", "days"}) {
				t.Errorf("get_forecast required = %v", f.Required)
			}
			if d := f.Properties["days"]; d.Type != "integer" || d.Minimum == nil || *d.Minimum != 1 || d.Maximum == nil || *d.Maximum != 7 {
				t.Errorf("get_forecast days schema = %+v, want integer 1..7", d)
			}
			c := schemas["convert_temperature"]
			if !slices.Equal(c.Required, []string{"from", "to", "value"}) {
				t.Errorf("convert_temperature required = %v", c.Required)
			}
			for _, p := range []string{"from", "to"} {
				if got := c.Properties[p].Enum; !slices.Equal(got, []string{"C", "F", "K"}) {
					t.Errorf("convert_temperature %s enum = %v", p, got)
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
	}{
		{name: "get_forecast returns one entry per day", tool: "get_forecast",
			args: map[string]any{"city": "Lisbon", "days": 3}, want: []string{`"city":"Lisbon"`, `"day":3`, "high_c"}},
		{name: "get_forecast with zero days is a tool error", tool: "get_forecast",
			args: map[string]any{"city": "Lisbon", "days": 0}, wantErr: true, want: []string{"minimum"}},
		{name: "get_forecast with eight days is a tool error", tool: "get_forecast",
			args: map[string]any{"city": "Lisbon", "days": 8}, wantErr: true, want: []string{"maximum"}},
		{name: "get_forecast with fractional days is a tool error", tool: "get_forecast",
			args: map[string]any{"city": "Lisbon", "days": 2.5}, wantErr: true, want: []string{"days"}},
		{name: "get_forecast without days is a tool error", tool: "get_forecast",
			args: map[string]any{"city": "Lisbon"}, wantErr: true, want: []string{`missing properties: ["days"]`}},
		{name: "get_forecast with a blank city is a tool error", tool: "get_forecast",
			args: map[string]any{"city": " ", "days": 1}, wantErr: true, want: []string{"city must not be empty"}},
		{name: "convert_temperature turns boiling water into Fahrenheit", tool: "convert_temperature",
			args: map[string]any{"value": 100, "from": "C", "to": "F"}, want: []string{`"value":212`, `"unit":"F"`}},
		{name: "convert_temperature turns freezing water into Kelvin", tool: "convert_temperature",
			args: map[string]any{"value": 0, "from": "C", "to": "K"}, want: []string{`"value":273.15`}},
		{name: "convert_temperature meets at minus forty", tool: "convert_temperature",
			args: map[string]any{"value": -40, "from": "F", "to": "C"}, want: []string{`"value":-40`}},
		{name: "convert_temperature with an unknown unit is a tool error", tool: "convert_temperature",
			args: map[string]any{"value": 1, "from": "X", "to": "C"}, wantErr: true, want: []string{"from"}},
		{name: "convert_temperature with a lowercase unit is a tool error", tool: "convert_temperature",
			args: map[string]any{"value": 1, "from": "C", "to": "f"}, wantErr: true, want: []string{"to"}},
		{name: "convert_temperature below absolute zero is a tool error", tool: "convert_temperature",
			args: map[string]any{"value": -1, "from": "K", "to": "C"}, wantErr: true, want: []string{"below absolute zero"}},
		{name: "convert_temperature with a string value is a tool error", tool: "convert_temperature",
			args: map[string]any{"value": "hot", "from": "C", "to": "F"}, wantErr: true, want: []string{"value"}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cs := connect(t, Options{Stateless: m.stateless})
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
				})
			}
		})
	}
}

func TestObserveSeesEveryRequest(t *testing.T) {
	var (
		mu      sync.Mutex
		methods []string
	)
	cs := connect(t, Options{Observe: func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		methods = append(methods, r.Method)
	}})
	if text, isErr := call(t, cs, "convert_temperature", map[string]any{"value": 1, "from": "C", "to": "K"}); isErr {
		t.Fatalf("convert_temperature: %s", text)
	}
	mu.Lock()
	defer mu.Unlock()
	// initialize, notifications/initialized and tools/call are all POSTs.
	posts := 0
	for _, m := range methods {
		if m == http.MethodPost {
			posts++
		}
	}
	if posts < 3 {
		t.Errorf("observed methods %v, want at least three POSTs", methods)
	}
}

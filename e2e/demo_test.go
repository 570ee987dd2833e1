package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

func TestGoSDKClientUsesBothConnectorsThroughEnvoy(t *testing.T) {
	s := startSystem(t)
	clientToken := s.token("alice", "demo")
	cs := connect(t, s.url("demo"), clientToken)

	// Independent checks, each a t.Run; the last one reads what the connectors saw of the calls
	// the ones before it made.
	t.Run("the tools of both connectors are listed", func(t *testing.T) {
		names := toolNames(t, cs)
		for _, want := range []string{"notes__add_note", "notes__list_notes", "weather__get_forecast", "weather__convert_temperature"} {
			if !slices.Contains(names, want) {
				t.Errorf("tools/list lacks %s; got %v", want, names)
			}
		}
	})
	t.Run("calls reach both connectors, those to notes in one connector session", func(t *testing.T) {
		// go-sdk's client speaks 2026-07-28, without a session: its calls to notes, which keeps
		// sessions, go in the one vmcp keeps for this user.
		if cs.ID() != "" {
			t.Fatalf("the client keeps session %q; want none (2026-07-28)", cs.ID())
		}
		first := sessionInfo(t, cs, "notes__session_info")
		added := callTool(t, cs, "notes__add_note", map[string]any{"title": "standup", "body": "ship vmcp"})
		if added.IsError {
			t.Fatalf("notes__add_note failed: %v", added.Content)
		}
		var note struct{ ID string }
		raw, _ := json.Marshal(added.StructuredContent)
		if err := json.Unmarshal(raw, &note); err != nil || note.ID == "" {
			t.Fatalf("add_note returned no id: %s", raw)
		}
		forecast := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Lisbon", "days": 2})
		if forecast.IsError {
			t.Fatalf("weather__get_forecast failed: %v", forecast.Content)
		}
		text := forecast.Content[0].(*mcp.TextContent).Text
		if !strings.Contains(text, "Lisbon") {
			t.Errorf("forecast does not name the city: %s", text)
		}
		listed := callTool(t, cs, "notes__list_notes", map[string]any{})
		if raw, _ := json.Marshal(listed); !strings.Contains(string(raw), "standup") {
			t.Errorf("list_notes does not show the added note: %s", raw)
		}
		// Every call went to the same connector session: it counted all of them.
		if last := sessionInfo(t, cs, "notes__session_info"); last.Session != first.Session || last.Calls != first.Calls+3 {
			t.Errorf("notes sessions: %+v, then %+v; want one session serving all four calls", first, last)
		}
	})
	t.Run("each connector saw exactly its own credential, never the client's token", func(t *testing.T) {
		for _, h := range s.notesSeen.all() {
			if got := h.Get("Authorization"); got != "Bearer "+notesToken {
				t.Errorf("notes connector got Authorization %q", redact(got, clientToken))
			}
		}
		for _, h := range s.weatherSee.all() {
			if got := h.Get("Authorization"); got != "" {
				t.Errorf("weather connector got Authorization %q", redact(got, clientToken))
			}
		}
		for _, rec := range []*recorder{s.notesSeen, s.weatherSee} {
			for _, h := range rec.all() {
				for k, vs := range h {
					if strings.HasPrefix(strings.ToLower(k), "x-vmcp-") {
						t.Errorf("a connector saw the internal header %s", k)
					}
					for _, v := range vs {
						if strings.Contains(v, clientToken) {
							t.Errorf("a connector saw the client's token in %s", k)
						}
					}
				}
			}
		}
		if len(s.notesSeen.all()) == 0 || len(s.weatherSee.all()) == 0 {
			t.Fatal("a connector saw no requests at all")
		}
	})
}

// redact keeps the client's token out of test output.
func redact(s, token string) string { return strings.ReplaceAll(s, token, "[client token]") }

func TestRequestsWithoutAValidTokenAreChallenged(t *testing.T) {
	s := startSystem(t)
	otherVS := s.token("alice", "demo")
	tests := []struct {
		name, authorization string
		wantInvalid         bool
	}{
		{"no token", "", false},
		{"garbage token", "Bearer garbage", true},
		{"token whose signature is cut", "Bearer " + otherVS[:len(otherVS)-10], true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.url("demo"), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
			req.Header.Set("Content-Type", "application/json")
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", resp.StatusCode)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			wantMeta := `resource_metadata="` + s.edge + `/.well-known/oauth-protected-resource/v/demo/mcp"`
			if !strings.Contains(challenge, wantMeta) {
				t.Errorf("WWW-Authenticate = %q, want %s", challenge, wantMeta)
			}
			if got := strings.Contains(challenge, "invalid_token"); got != tc.wantInvalid {
				t.Errorf("invalid_token present = %v, want %v", got, tc.wantInvalid)
			}
		})
	}
}

func TestConfigEditsApplyWithoutRestartAndBadEditsAreRejected(t *testing.T) {
	s := startSystem(t)
	s.writeConfig(harness.VirtualServer{Name: "ops", Connectors: []string{"weather"}})
	// The token command reads the edited file, so the new virtual server is known to it.
	var cs *mcp.ClientSession
	harness.Eventually(t, 10*time.Second, func() error {
		var err error
		cs, err = tryConnect(s.url("ops"), s.token("bob", "ops"))
		return err
	})
	defer cs.Close()
	names := toolNames(t, cs)
	if len(names) != 2 || !slices.Contains(names, "weather__get_forecast") {
		t.Fatalf("ops tools = %v, want only weather's", names)
	}

	// A broken edit is reported and the last good configuration keeps serving.
	if err := harness.WriteFile(s.configPath, "virtual_servers:\n  - name: ops\n    connectors: [missing]\n"); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(s.vmcp.Output(), "config reload rejected") {
			return fmt.Errorf("vmcp has not reported the broken configuration yet")
		}
		return nil
	})
	// The rejection names the file, line and column, and what is wrong there.
	if !strings.Contains(s.vmcp.Output(), "vmcp.yaml:3:18:") || !strings.Contains(s.vmcp.Output(), "which is not defined under connectors") {
		t.Errorf("the rejection does not say where and what is wrong")
	}
	if names := toolNames(t, cs); len(names) != 2 {
		t.Fatalf("after a broken edit ops tools = %v", names)
	}
}

func TestStatelessClientsWorkWithoutASession(t *testing.T) {
	s := startSystem(t)
	token := s.token("erin", "demo")
	tools := rpc(t, s.url("demo"), token, "tools/list", map[string]any{})
	if list, _ := tools["tools"].([]any); len(list) < 4 {
		t.Fatalf("tools/list without a session returned %v", tools)
	}
	added := rpc(t, s.url("demo"), token, "tools/call", map[string]any{"name": "notes__add_note", "arguments": map[string]any{"title": "a", "body": "b"}})
	if added["isError"] == true {
		t.Fatalf("tools/call without a session: %v", added)
	}
	// The calls land in the one connector session vmcp keeps for this user, which counts them.
	info := func() connectorSession {
		res := rpc(t, s.url("demo"), token, "tools/call", map[string]any{"name": "notes__session_info", "arguments": map[string]any{}})
		var out struct{ StructuredContent connectorSession }
		raw, _ := json.Marshal(res)
		if err := json.Unmarshal(raw, &out); err != nil || out.StructuredContent.Session == "" {
			t.Fatalf("session_info without a session: %s", raw)
		}
		return out.StructuredContent
	}
	first := info()
	rpc(t, s.url("demo"), token, "tools/call", map[string]any{"name": "notes__list_notes", "arguments": map[string]any{}})
	if last := info(); last.Session != first.Session || last.Calls != first.Calls+2 {
		t.Errorf("notes sessions without a client session: %+v, then %+v; want one kept session serving all three calls", first, last)
	}
}

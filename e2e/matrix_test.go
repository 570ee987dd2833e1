package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// The client matrix: every current MCP client, driven by a small script of its own (e2e/py,
// e2e/ts2) or by Go, runs the same steps against one virtual server of two prefixed connectors
// through real Envoy, and prints what it saw as JSON. The tests of matrix_*_test.go assert on
// that, one t.Run per capability, so one failing capability does not hide the others.

// Revisions a client row expects to speak.
const (
	revModern = "2026-07-28"
	revLegacy = "2025-11-25"
)

// matrixVS is the virtual server every row uses: the notes and weather example connectors, with
// their names as prefixes.
const matrixVS = "matrix"

// Step names shared by every client script: one per capability of the matrix.
const (
	stepConnect     = "connect"      // {protocolVersion}
	stepTools       = "tools"        // tool names
	stepResources   = "resources"    // resource URIs
	stepPrompts     = "prompts"      // prompt names
	stepCallNotes   = "call_notes"   // text of notes__add_note's result
	stepCallWeather = "call_weather" // text of weather__get_forecast's result
	stepRead        = "read"         // text of notes://all
	stepPrompt      = "prompt"       // text of notes__summarize_notes's first message
	stepListChanged = "list_changed" // tool names listed after the tools list_changed notification
	stepRefresh     = "refresh"      // {refreshed, usedRefreshedToken, result} of a weather__get_forecast call after the access token expired
)

// matrixNoteTitle is the title of the note each client adds; the resource and the prompt read
// afterwards must show it, which proves the three requests reached the same connector state.
func matrixNoteTitle(client string) string { return "matrix note from " + client }

// matrixServer is a running vmcp with the matrix virtual server, whose tools a test can change
// by editing the configuration.
type matrixServer struct {
	*system
	mu sync.Mutex
	// hidden is whether weather__convert_temperature is hidden by the current configuration.
	hidden bool
}

// startMatrix starts vmcp with the example connectors behind virtual server matrix
// (prefix mode always), on the test configuration changed by edits (dev users, say).
func startMatrix(t *testing.T, edits ...func(*harness.Config)) *matrixServer {
	t.Helper()
	m := &matrixServer{system: startSystem(t, edits...)}
	m.reload(func() { m.writeConfig(m.servers()) })
	return m
}

func (m *matrixServer) servers() harness.VirtualServer {
	weather := "weather"
	if m.hidden {
		weather = "{name: weather, tools: {convert_temperature: {hidden: true}}}"
	}
	return harness.VirtualServer{Name: matrixVS, Connectors: []string{"notes", weather}, Prefix: "always"}
}

// toggleTools hides weather__convert_temperature if it is listed and lists it again if it is
// hidden, as an administrator's configuration edit would; it returns whether it is now hidden.
// vmcp tells every open stream of the virtual server that its tools changed.
func (m *matrixServer) toggleTools() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hidden = !m.hidden
	m.reload(func() { m.writeConfig(m.servers()) })
	return m.hidden
}

// tokenFile writes a fresh `vmcp token` for user on the matrix virtual server to a file, so that
// no token appears on a command line.
func (m *matrixServer) tokenFile(t *testing.T, user string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(m.token(user, matrixVS)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// matrixStep is one capability's outcome as a client script reports it.
type matrixStep struct {
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value,omitempty"`
	Error string          `json:"error,omitempty"`
}

// matrixResult is what one client run saw: the steps it ran, by name.
type matrixResult struct {
	Steps map[string]matrixStep `json:"steps"`
	// hiddenAfterEdit is whether the configuration edit made during the run hid
	// weather__convert_temperature (set by runMatrixClient, not by the script).
	hiddenAfterEdit *bool
}

func (r *matrixResult) set(step string, value any, err error) {
	if r.Steps == nil {
		r.Steps = map[string]matrixStep{}
	}
	if err != nil {
		r.Steps[step] = matrixStep{Error: err.Error()}
		return
	}
	b, _ := json.Marshal(value)
	r.Steps[step] = matrixStep{OK: true, Value: b}
}

// matrixEvent is a line a script prints before its result: "listening" once it is ready for a
// tools list_changed notification, which makes the test edit the configuration.
type matrixEvent struct {
	Event string `json:"event"`
}

// runMatrixClient runs a client script. It reads the script's stdout line by line: a
// {"event":"listening"} line makes it edit the configuration (see toggleTools), and the line
// with "steps" is the result. The script's stderr is logged if the test fails.
func runMatrixClient(t *testing.T, m *matrixServer, name string, cmd *exec.Cmd) matrixResult {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("\n==== %s stderr ====\n%s==== end of %s stderr ====", name, tail(stderr.String(), 8000), name)
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var res matrixResult
	var sawResult bool
	var lines []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			lines = append(lines, line) // a library's chatter on stdout
			continue
		}
		var ev matrixEvent
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "listening" {
			hidden := m.toggleTools()
			res.hiddenAfterEdit = &hidden
			continue
		}
		var r matrixResult
		if err := json.Unmarshal([]byte(line), &r); err == nil && r.Steps != nil {
			res.Steps, sawResult = r.Steps, true
		}
	}
	waitErr := cmd.Wait()
	if !sawResult {
		t.Fatalf("%s printed no result (%v); stdout:\n%s\nstderr:\n%s", name, waitErr, strings.Join(lines, "\n"), tail(stderr.String(), 4000))
	}
	if waitErr != nil {
		var exit *exec.ExitError
		if !errors.As(waitErr, &exit) {
			t.Errorf("%s: %v", name, waitErr)
		}
		// A script exits non-zero when a step failed; the steps say which.
	}
	return res
}

// rowWant is what a client row is expected to show.
type rowWant struct {
	client   string // the client's name in note titles
	revision string // the revision it must have negotiated; "" if the client does not say
	// listChanged is whether the client can observe a tools list change.
	listChanged bool
	// refresh is whether the client signed in with OAuth and must have refreshed its token.
	refresh bool
	// only, when set, limits the capabilities checked to these steps (a CLI that lists and
	// calls, say).
	only []string
}

func (w rowWant) checks(step string) bool { return w.only == nil || slices.Contains(w.only, step) }

// assertMatrixRow checks each capability of a client run in its own t.Run.
func assertMatrixRow(t *testing.T, res matrixResult, want rowWant) {
	t.Helper()
	step := func(t *testing.T, name string, into any) bool {
		t.Helper()
		s, ok := res.Steps[name]
		switch {
		case !ok:
			t.Fatalf("the client did not get to step %q", name)
		case !s.OK:
			t.Fatalf("step %q failed: %s", name, s.Error)
		}
		if into != nil {
			if err := json.Unmarshal(s.Value, into); err != nil {
				t.Fatalf("step %q: value %s: %v", name, s.Value, err)
			}
		}
		return true
	}
	run := func(name, sentence string, f func(t *testing.T)) {
		if want.checks(name) {
			t.Run(sentence, f)
		}
	}
	title := matrixNoteTitle(want.client)

	run(stepConnect, "connects through Envoy", func(t *testing.T) {
		var c struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		step(t, stepConnect, &c)
		if want.revision != "" && c.ProtocolVersion != want.revision {
			t.Errorf("negotiated revision %q, want %q", c.ProtocolVersion, want.revision)
		}
	})
	run(stepTools, "lists the tools of both connectors under their prefixes", func(t *testing.T) {
		var names []string
		step(t, stepTools, &names)
		for _, n := range []string{"notes__add_note", "notes__get_note", "weather__get_forecast"} {
			if !slices.Contains(names, n) {
				t.Errorf("tools/list lacks %s: %v", n, names)
			}
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "notes__") && !strings.HasPrefix(n, "weather__") {
				t.Errorf("tool %q has no connector prefix", n)
			}
		}
	})
	run(stepResources, "lists the notes connector's resource", func(t *testing.T) {
		var uris []string
		step(t, stepResources, &uris)
		if !slices.Contains(uris, "notes://all") {
			t.Errorf("resources/list lacks notes://all: %v", uris)
		}
	})
	run(stepPrompts, "lists the notes connector's prompt under its prefix", func(t *testing.T) {
		var names []string
		step(t, stepPrompts, &names)
		if !slices.Contains(names, "notes__summarize_notes") {
			t.Errorf("prompts/list lacks notes__summarize_notes: %v", names)
		}
	})
	run(stepCallNotes, "calls a tool of the notes connector", func(t *testing.T) {
		var text string
		step(t, stepCallNotes, &text)
		var note struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(text), &note); err != nil || note.ID == "" {
			t.Errorf("notes__add_note answered %q, want the new note's id", text)
		}
	})
	run(stepCallWeather, "calls a tool of the weather connector", func(t *testing.T) {
		var text string
		step(t, stepCallWeather, &text)
		if !strings.Contains(text, "Oslo") || !strings.Contains(text, "condition") {
			t.Errorf("weather__get_forecast for Oslo answered %q", text)
		}
	})
	run(stepRead, "reads the notes resource", func(t *testing.T) {
		var text string
		step(t, stepRead, &text)
		if !strings.Contains(text, title) {
			t.Errorf("notes://all does not hold the note just added (%q): %q", title, text)
		}
	})
	run(stepPrompt, "gets the notes prompt with an argument", func(t *testing.T) {
		var text string
		step(t, stepPrompt, &text)
		if !strings.Contains(text, "focusing on interop") || !strings.Contains(text, title) {
			t.Errorf("notes__summarize_notes (focus interop) gave %q", text)
		}
	})
	if want.listChanged {
		run(stepListChanged, "sees the tools list change after a configuration edit", func(t *testing.T) {
			var names []string
			step(t, stepListChanged, &names)
			if res.hiddenAfterEdit == nil {
				t.Fatal("the client never said it was listening, so the configuration was not edited")
			}
			if got := !slices.Contains(names, "weather__convert_temperature"); got != *res.hiddenAfterEdit {
				t.Errorf("after the edit (weather__convert_temperature hidden: %v) the client lists %v", *res.hiddenAfterEdit, names)
			}
			if !slices.Contains(names, "weather__get_forecast") {
				t.Errorf("after the edit the client lists %v", names)
			}
		})
	}
	if want.refresh {
		run(stepRefresh, "refreshes its token after it expires", func(t *testing.T) {
			var r struct {
				Refreshed          bool   `json:"refreshed"`
				UsedRefreshedToken bool   `json:"usedRefreshedToken"`
				Result             string `json:"result"`
				CallError          string `json:"callError"`
			}
			step(t, stepRefresh, &r)
			if !r.Refreshed || !r.UsedRefreshedToken {
				t.Errorf("after expiry: refreshed %v, the next request went out on the new token and got HTTP 200: %v", r.Refreshed, r.UsedRefreshedToken)
			}
			if !strings.Contains(r.Result, "Oslo") {
				t.Errorf("weather__get_forecast on the refreshed token gave %q %s", r.Result, r.CallError)
			}
		})
	}
}

// matrixCommand is exec.CommandContext with a deadline no client run should need, cancelled
// when the test ends.
func matrixCommand(t *testing.T, dir, bin string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	return cmd
}

//go:build unix

package stdio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// testBridge is a running bridge behind a real HTTP server, with its log captured.
type testBridge struct {
	*Bridge
	url  string
	logs *observer.ObservedLogs
}

func startBridge(t *testing.T, opts Options) *testBridge {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	opts.Log = zap.New(core)
	if opts.Key.Connector == "" {
		opts.Key.Connector = "test"
	}
	if opts.Command.Argv == nil {
		opts.Command = testCommand()
	}
	b := New(opts)
	b.Start()
	srv := httptest.NewServer(b)
	t.Cleanup(func() {
		srv.Close()
		b.Close()
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("log: %s %v", e.Message, e.ContextMap())
			}
		}
	})
	return &testBridge{Bridge: b, url: srv.URL, logs: logs}
}

// connect is a go-sdk client speaking MCP 2025-11-25 (initialize, sessions).
func connect(t *testing.T, url string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	return connectVersion(t, url, opts, "2025-11-25")
}

func connectVersion(t *testing.T, url string, opts *mcp.ClientOptions, version string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, opts).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callTool(cs *mcp.ClientSession, tool string, args map[string]any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", err
	}
	if res.IsError {
		return "", fmt.Errorf("tool error: %v", res.Content)
	}
	return res.Content[0].(*mcp.TextContent).Text, nil
}

func mustCall(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) string {
	t.Helper()
	out, err := callTool(cs, tool, args)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return out
}

func TestClientsShareOneProcessAndEachGetsItsOwnAnswers(t *testing.T) {
	b := startBridge(t, Options{})
	a, c := connect(t, b.url, nil), connect(t, b.url, nil)
	if a.ID() == "" || a.ID() == c.ID() {
		t.Fatalf("session ids %q and %q: want two distinct ones", a.ID(), c.ID())
	}
	if pa, pc := mustCall(t, a, "pid", nil), mustCall(t, c, "pid", nil); pa != pc || pa != strconv.Itoa(b.Pid()) {
		t.Fatalf("clients reached processes %s and %s, want both the bridge's %d", pa, pc, b.Pid())
	}
	// Both clients number their requests from the same start, so their ids collide all the
	// time on the way in; every answer must still reach the client that asked.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for _, cl := range []struct {
		name string
		cs   *mcp.ClientSession
	}{{"a", a}, {"c", c}} {
		for i := range 25 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				want := fmt.Sprintf("%s-%d", cl.name, i)
				got, err := callTool(cl.cs, "echo", map[string]any{"text": want})
				if err == nil && got != "echo: "+want {
					err = fmt.Errorf("client %s asked for %q and got %q", cl.name, want, got)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestProgressReachesOnlyTheClientWhoseRequestItReportsOn(t *testing.T) {
	b := startBridge(t, Options{})
	var aGot, cGot atomic.Int32
	a := connect(t, b.url, &mcp.ClientOptions{ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) { aGot.Add(1) }})
	c := connect(t, b.url, &mcp.ClientOptions{ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) { cGot.Add(1) }})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	params := &mcp.CallToolParams{Name: "progress", Arguments: map[string]any{"n": 3}}
	params.SetProgressToken("tok-a")
	res, err := a.CallTool(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	// The server saw the bridge's token, the client got its own back.
	if got := res.Content[0].(*mcp.TextContent).Text; got == "progress tok-a done" {
		t.Errorf("the process saw the client's own progress token %q; tokens of different clients could collide", "tok-a")
	}
	mustCall(t, c, "echo", map[string]any{"text": "x"})
	// The SDK runs notification handlers apart from the call, which may return first.
	harness.Eventually(t, 5*time.Second, func() error {
		if n := aGot.Load(); n != 3 {
			return fmt.Errorf("the caller got %d progress notifications, want 3", n)
		}
		return nil
	})
	if cGot.Load() != 0 {
		t.Errorf("another client got %d of them", cGot.Load())
	}
}

func TestACrashFailsTheCallInFlightAndTheRestartedProcessServesAgain(t *testing.T) {
	b := startBridge(t, Options{MinBackoff: 10 * time.Millisecond})
	cs := connect(t, b.url, nil)
	before := mustCall(t, cs, "pid", nil)

	_, err := callTool(cs, "crash", nil)
	if err == nil || !strings.Contains(err.Error(), "connector test exited while handling tools/call (exited with status 3); it is being restarted") {
		t.Fatalf("crash: got %v, want the bridge's clear error", err)
	}
	harness.Eventually(t, 20*time.Second, func() error {
		after, err := callTool(cs, "pid", nil)
		if err != nil {
			return err
		}
		if after == before {
			return fmt.Errorf("still process %s", after)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) == 0 {
		t.Fatalf("tools after the restart: %v, %v", tools, err)
	}
	if n := b.logs.FilterMessage("connector process down; restarting").Len(); n != 1 {
		t.Errorf("%d restart log events, want 1", n)
	}
}

func TestAHungCallTimesOutWithAClearErrorAndIsCancelled(t *testing.T) {
	b := startBridge(t, Options{RequestTimeout: 500 * time.Millisecond})
	cs := connect(t, b.url, nil)
	pid := b.Pid()

	start := time.Now()
	_, err := callTool(cs, "hang", nil)
	if err == nil || !strings.Contains(err.Error(), "connector test did not answer within 500ms") {
		t.Fatalf("hang: got %v, want a timeout naming the connector", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the timeout took %s", took)
	}
	// The process was told to give up on the request, and, still answering pings, kept.
	harness.Eventually(t, 10*time.Second, func() error {
		if b.logs.FilterField(zap.String("line", "hang cancelled")).Len() == 0 {
			return errors.New("the process never saw the cancellation")
		}
		return nil
	})
	if got := mustCall(t, cs, "echo", map[string]any{"text": "still here"}); got != "echo: still here" {
		t.Errorf("after the timeout: %q", got)
	}
	if b.Pid() != pid {
		t.Errorf("a process that answers pings was restarted")
	}
}

func TestAStoppedProcessIsKilledAndRestarted(t *testing.T) {
	b := startBridge(t, Options{RequestTimeout: 300 * time.Millisecond, MinBackoff: 10 * time.Millisecond})
	cs := connect(t, b.url, nil)
	before := mustCall(t, cs, "pid", nil)
	// The whole process stops: no answer, no ping, nothing.
	if err := syscall.Kill(b.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if out, err := callTool(cs, "echo", nil); err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("a call to the stopped process: got %q, %v", out, err)
	}
	harness.Eventually(t, 20*time.Second, func() error {
		after, err := callTool(cs, "pid", nil)
		if err != nil {
			return err
		}
		if after == before {
			return fmt.Errorf("still process %s", after)
		}
		return nil
	})
	if b.logs.FilterMessage("connector process does not answer ping after a request timed out; killing it").Len() != 1 {
		t.Error("no log event says why the process was killed")
	}
}

func TestAProcessThatCannotStartGets503AndAClearError(t *testing.T) {
	b := startBridge(t, Options{Command: Command{Argv: []string{"false"}}, StartWait: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond})
	harness.Eventually(t, 10*time.Second, func() error {
		if b.logs.FilterMessage("connector process down; restarting").Len() < 2 {
			return errors.New("not restarted twice yet")
		}
		return nil
	})
	resp, err := http.Post(b.url, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `connector test is not running (initialize: exited with status 1); it is being restarted`) || !strings.Contains(string(body), `"id":7`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if b.Healthy() {
		t.Error("Healthy says yes")
	}
}

func TestStderrIsLoggedLineByLineAndTheEnvironmentIsNot(t *testing.T) {
	const secret = "s3cr3t-value-8d2e"
	b := startBridge(t, Options{Command: testCommand("API_KEY=" + secret)})
	cs := connect(t, b.url, nil)
	if got := mustCall(t, cs, "env", map[string]any{"text": "API_KEY"}); got != secret {
		t.Fatalf("the process got API_KEY %q", got)
	}
	if got := mustCall(t, cs, "env", map[string]any{"text": "GOPATH"}); got != "" {
		t.Errorf("the process inherited GOPATH %q from vmcp's environment", got)
	}
	for _, line := range []string{"test server starting", "second stderr line"} {
		if b.logs.FilterMessage("connector stderr").FilterField(zap.String("line", line)).Len() != 1 {
			t.Errorf("stderr line %q is not one log event", line)
		}
	}
	for _, e := range b.logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), secret) {
			t.Errorf("a log event holds the secret: %s", e.Message)
		}
	}
}

func TestCloseStopsTheProcessAndEverythingItStarted(t *testing.T) {
	b := startBridge(t, Options{StopGrace: time.Second})
	cs := connect(t, b.url, nil)
	grandchild, _ := strconv.Atoi(mustCall(t, cs, "spawn", nil))
	pid := b.Pid()
	b.Close()
	// SIGKILL is delivered, not awaited: the grandchild dies a moment after.
	harness.Eventually(t, 5*time.Second, func() error {
		for _, p := range []int{pid, grandchild} {
			if alive(p) {
				return fmt.Errorf("process %d is still alive", p)
			}
		}
		return nil
	})
}

// alive reports whether pid runs (a zombie, waiting for a parent that is not us to reap it,
// does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestATokenGuardedBridgeRefusesRequestsWithoutIt(t *testing.T) {
	b := startBridge(t, Options{Token: "bridge-token"})
	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest(http.MethodPost, b.url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: got %d, want 401", auth, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, b.url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer bridge-token")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"result":{}`) {
		t.Errorf("with the token: %d %s", resp.StatusCode, body)
	}
}

// A client on MCP 2026-07-28 (no initialize, no session: server/discover, then requests that
// carry their version in _meta) reaches a server that speaks it, since the bridge passes
// methods through rather than re-implementing them.
func TestAStatelessClientDiscoversTheServerThroughTheBridge(t *testing.T) {
	b := startBridge(t, Options{})
	cs := connectVersion(t, b.url, nil, "")
	if cs.ID() != "" {
		t.Errorf("a 2026-07-28 client got session %q", cs.ID())
	}
	if got := mustCall(t, cs, "echo", map[string]any{"text": "hi"}); got != "echo: hi" {
		t.Errorf("echo: %q", got)
	}
}

// A server-to-client request the process sends while handling a call (elicitation here) reaches
// the client that made the call, on that call's stream, and the client's answer reaches the
// process under the process's own id.
func TestAnElicitationReachesTheCallerAndItsAnswerTheProcess(t *testing.T) {
	b := startBridge(t, Options{})
	var asked atomic.Value
	cs := connect(t, b.url, &mcp.ClientOptions{ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		asked.Store(req.Params.Message)
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "blue"}}, nil
	}})
	connect(t, b.url, nil) // another client, idle, must not be asked
	if got := mustCall(t, cs, "ask", map[string]any{"text": "favourite colour?"}); got != "accept: blue" {
		t.Errorf("the process got %q", got)
	}
	if asked.Load() != "favourite colour?" {
		t.Errorf("the caller was asked %v", asked.Load())
	}
}

package e2e

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/examples/connectors/notes"
	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// restartingConnector serves a fresh connector handler — with none of the old one's sessions —
// on one address, and can be restarted there, as a redeployed or crashed connector comes back.
type restartingConnector struct {
	t    *testing.T
	addr string
	mk   func() http.Handler
	mu   sync.Mutex
	srv  *http.Server
}

func (r *restartingConnector) start() {
	r.t.Helper()
	var lis net.Listener
	harness.Eventually(r.t, 10*time.Second, func() error {
		var err error
		lis, err = net.Listen("tcp", r.addr)
		return err
	})
	srv := &http.Server{Handler: r.mk()}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(lis)
}

func (r *restartingConnector) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close() // connections cut, as in a crash
		r.srv = nil
	}
}

func (r *restartingConnector) restart() {
	r.t.Helper()
	r.stop()
	r.start()
}

// withKeeper adds the configuration entry of "keeper": the notes example (go-sdk, stateful: it
// keeps sessions, and forgets them all when it restarts) at addr.
func withKeeper(addr string) func(*harness.Config) {
	return func(c *harness.Config) {
		c.Connectors = append(c.Connectors, harness.Connector{Name: "keeper", URL: "http://" + addr + "/mcp", Timeout: 5 * time.Second, Credential: notesCredential})
	}
}

// startKeeper serves keeper at a free address until the test ends.
func startKeeper(t *testing.T) *restartingConnector {
	k := &restartingConnector{t: t, addr: harness.FreeAddr(t), mk: func() http.Handler { return notes.New(notes.Options{Token: notesToken}) }}
	k.start()
	t.Cleanup(k.stop)
	return k
}

// keepVS is a virtual server with the restarting connector and weather.
var keepVS = harness.VirtualServer{Name: "keep", Connectors: []string{"keeper", "weather"}}

// connectRevision is a go-sdk client session in the given revision: 2025-11-25 keeps a session
// (Mcp-Session-Id), 2026-07-28 keeps none.
func connectRevision(t *testing.T, url, version string, rt http.RoundTripper) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-restart", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: rt}},
		&mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect to %s in %s: %v", url, version, err)
	}
	t.Cleanup(func() { cs.Close() })
	if got := cs.InitializeResult().ProtocolVersion; got != version {
		t.Fatalf("negotiated %s, want %s", got, version)
	}
	if keeps := cs.ID() != ""; keeps != (version != "2026-07-28") {
		t.Fatalf("client session id %q in %s", cs.ID(), version)
	}
	return cs
}

// checkCallsSurviveRestart calls keeper and weather, restarts keeper, and checks that the next
// calls succeed in one new keeper session while weather and the client's session go on.
func checkCallsSurviveRestart(t *testing.T, cs *mcp.ClientSession, keeper *restartingConnector) {
	t.Helper()
	first := sessionInfo(t, cs, "keeper__session_info")
	if again := sessionInfo(t, cs, "keeper__session_info"); again.Session != first.Session || again.Calls != first.Calls+1 {
		t.Fatalf("before the restart: %+v then %+v; want one connector session serving both", first, again)
	}
	if res := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Oslo", "days": 1}); res.IsError {
		t.Fatalf("weather: %v", res.Content)
	}
	clientSession := cs.ID()

	keeper.restart()

	started := time.Now()
	after, err := trySessionInfo(cs, "keeper__session_info")
	reopened := time.Since(started)
	if err != nil {
		t.Fatalf("the first call after the connector restarted: %v", err)
	}
	if after.Session == first.Session {
		t.Fatalf("after the restart the call was served in the forgotten session %q", first.Session)
	}
	// One new session serves the client from now on: not one per call.
	started = time.Now()
	if next := sessionInfo(t, cs, "keeper__session_info"); next.Session != after.Session || next.Calls != after.Calls+1 {
		t.Fatalf("after the restart: %+v then %+v; want one new connector session serving both", after, next)
	}
	t.Logf("the call that found its connector session forgotten took %v, the next one %v", reopened, time.Since(started))
	if res := callTool(t, cs, "keeper__add_note", map[string]any{"title": "after", "body": "restart"}); res.IsError {
		t.Fatalf("keeper__add_note: %v", res.Content)
	}
	if res := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Oslo", "days": 1}); res.IsError {
		t.Fatalf("weather after keeper restarted: %v", res.Content)
	}
	if names := toolNames(t, cs); len(names) < 6 {
		t.Fatalf("tools/list after the restart: %v", names)
	}
	if cs.ID() != clientSession {
		t.Fatalf("the client's session changed from %q to %q", clientSession, cs.ID())
	}
}

// A connector that keeps sessions restarts under live clients. MCP transports: it answers 404 to
// its forgotten sessions, having run nothing. vmcp opens a new session with it and sends the call
// again; the client sees nothing, keeps its vmcp session, and the other connector's tools work
// throughout — for a client session of the 2025 revisions and for a sessionless 2026-07-28
// caller, whose connector session vmcp keeps.
func TestARestartedConnectorEndsNoClientSession(t *testing.T) {
	keeper := startKeeper(t)
	s := startSystem(t, withKeeper(keeper.addr))
	s.reload(func() { s.writeConfig(keepVS) })
	rt := edgeclient.Bearer{Token: s.token("alice", "keep"), Base: http.DefaultTransport}

	for _, version := range []string{"2025-11-25", "2026-07-28"} {
		t.Run(version, func(t *testing.T) {
			cs := connectRevision(t, s.url("keep"), version, rt)
			checkCallsSurviveRestart(t, cs, keeper)
		})
	}
}

// Two vmcp replicas on one PostgreSQL serve one client session in turns while the connector
// restarts: the new connector session one replica opens is the one the other uses next (it is
// recorded in the shared store), so each call after the restart lands in the same new session.
func TestARestartedConnectorEndsNoClientSessionAcrossReplicas(t *testing.T) {
	keeper := startKeeper(t)
	shared := postgresStore(t)
	a := startSystem(t, withKeeper(keeper.addr), func(c *harness.Config) { c.Store = shared })
	b := startReplica(t, a)
	for _, s := range []*system{a, b} {
		s.reload(func() { s.writeConfig(keepVS) })
	}
	edgeA, _ := url.Parse(a.edge)
	edgeB, _ := url.Parse(b.edge)
	lb := &alternating{hosts: []string{edgeA.Host, edgeB.Host}, seen: map[string]int{}}
	rt := edgeclient.Bearer{Token: a.token("alice", "keep"), Base: lb}

	t.Run("2025-11-25", func(t *testing.T) {
		cs := connectRevision(t, a.url("keep"), "2025-11-25", rt)
		checkCallsSurviveRestart(t, cs, keeper)
	})
	// A sessionless caller: each replica keeps its own connector session for it, and each
	// replaces its own.
	t.Run("2026-07-28", func(t *testing.T) {
		cs := connectRevision(t, a.url("keep"), "2026-07-28", rt)
		for range 2 {
			sessionInfo(t, cs, "keeper__session_info")
		}
		keeper.restart()
		for i := range 4 {
			if _, err := trySessionInfo(cs, "keeper__session_info"); err != nil {
				t.Fatalf("call %d after the restart: %v", i+1, err)
			}
		}
	})
	if lb.seen[edgeA.Host] < 5 || lb.seen[edgeB.Host] < 5 {
		t.Fatalf("requests per replica: %v; want both to take turns", lb.seen)
	}
}

// slowConnector keeps sessions and has one tool, "slow", that takes longer to answer than
// Envoy waits for an ext_proc message by default (message_timeout, 2 s in the bootstrap).
func slowConnector() http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "slow", Version: "1"}, nil)
	type out struct {
		Done bool `json:"done"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "slow", Description: "Answers after 3 seconds."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, out, error) {
			select {
			case <-time.After(3 * time.Second): // the tool's own pace, not a wait for the test
				return nil, out{Done: true}, nil
			case <-ctx.Done():
				return nil, out{}, ctx.Err()
			}
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

// The call sent again after a restart runs while Envoy waits for extproc's answer to the 404:
// extproc extends that wait (override_message_timeout, allowed by the bootstrap's
// max_message_timeout), so a tool slower than message_timeout still answers.
func TestACallSentAgainInANewSessionMayOutlastExtprocsMessageTimeout(t *testing.T) {
	slow := &restartingConnector{t: t, addr: harness.FreeAddr(t), mk: slowConnector}
	slow.start()
	t.Cleanup(slow.stop)
	s := startSystem(t, func(c *harness.Config) {
		c.Connectors = append(c.Connectors, harness.Connector{Name: "slow", URL: "http://" + slow.addr + "/mcp", Timeout: 5 * time.Second})
	})
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "slowvs", Connectors: []string{"slow", "weather"}}) })
	cs := connectRevision(t, s.url("slowvs"), "2025-11-25", edgeclient.Bearer{Token: s.token("alice", "slowvs"), Base: http.DefaultTransport})

	if res := callTool(t, cs, "slow__slow", map[string]any{}); res.IsError {
		t.Fatalf("before the restart: %v", res.Content)
	}
	slow.restart()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "slow__slow", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("the slow call after the restart: %v %v", err, res)
	}
	if res := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Oslo", "days": 1}); res.IsError {
		t.Fatalf("weather: %v", res.Content)
	}
}

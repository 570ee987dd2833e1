package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// restartable is a go-sdk connector that keeps sessions and can be restarted in place: a new
// handler, which knows none of the old one's sessions.
type restartable struct {
	h     atomic.Pointer[http.Handler]
	inits atomic.Int64
}

func (r *restartable) restart() {
	h := weather.New(weather.Options{})
	r.h.Store(&h)
}

func (r *restartable) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if strings.Contains(string(body), `"method":"initialize"`) {
		r.inits.Add(1)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	(*r.h.Load()).ServeHTTP(w, req)
}

// replica is one aggregator of a deployment whose replicas share a store, a session key and the
// connector (reached directly here: the egress address is the connector's).
type replica struct {
	t      *testing.T
	agg    *Server
	cfg    *config.Config
	signed string
}

func newReplica(t *testing.T, egress string, db store.Store) *replica {
	t.Helper()
	cfg, err := config.Load("t.yaml", []byte(`
connectors: [{name: weather, url: "http://`+egress+`/mcp"}]
virtual_servers: [{name: demo, connectors: [weather]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := identity.NewSigner([]byte(strings.Repeat("i", 32)))
	codec, _ := session.NewCodec([]byte(strings.Repeat("s", 32)), time.Hour)
	r := &replica{t: t, agg: NewServer(egress, signer, codec, "test", nil, zaptest.NewLogger(t)), cfg: cfg}
	r.agg.SetRemapStore(db)
	r.reload()
	r.signed, _ = signer.Sign(identity.Identity{Subject: "alice", VirtualServer: "demo", Expiry: time.Now().Add(time.Hour).Unix()})
	return r
}

// reload applies the configuration again, which starts with empty list caches: the next list
// asks the connector.
func (r *replica) reload() {
	commit, err := r.agg.Prepare(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	commit()
}

// post sends one request in session sid ("" for none) and returns the answer and the session id
// it gave.
func (r *replica) post(sid, body string) (map[string]json.RawMessage, string) {
	r.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v/demo/mcp", strings.NewReader(body))
	req.Header.Set("x-vmcp-identity", r.signed)
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	rec := httptest.NewRecorder()
	r.agg.ServeHTTP(rec, req)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m["result"] == nil {
		r.t.Fatalf("%s: HTTP %d %s", body, rec.Code, rec.Body.String())
	}
	return m, rec.Header().Get("Mcp-Session-Id")
}

func (r *replica) toolCount(sid string) int {
	r.t.Helper()
	m, _ := r.post(sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	var res struct{ Tools []json.RawMessage }
	json.Unmarshal(m["result"], &res)
	return len(res.Tools)
}

// A connector that restarted forgets the sessions of the client sessions: the fan-out opens a
// new one, once, and every replica sharing the store finds it instead of opening its own.
func TestAForgottenConnectorSessionIsReplacedOnceForEveryReplica(t *testing.T) {
	conn := &restartable{}
	conn.restart()
	srv := httptest.NewServer(conn)
	defer srv.Close()
	egress := strings.TrimPrefix(srv.URL, "http://")
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, b := newReplica(t, egress, db), newReplica(t, egress, db)

	_, sid := a.post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	state, err := a.agg.sessions.Open(sid, "alice", "demo")
	if err != nil || state.Upstream["weather"] == "" {
		t.Fatalf("no connector session in the client's: %v %+v", err, state)
	}
	sealed := state.Upstream["weather"]
	if n := a.toolCount(sid); n != 2 {
		t.Fatalf("tools/list before the restart: %d tools", n)
	}

	conn.restart()
	inits := conn.inits.Load()
	a.reload()
	if n := a.toolCount(sid); n != 2 {
		t.Fatalf("tools/list after the restart: %d tools, want the connector's 2", n)
	}
	if got := conn.inits.Load() - inits; got != 1 {
		t.Fatalf("%d new connector sessions, want 1", got)
	}
	replaced := a.agg.CurrentConnectorSession("alice", "demo", "weather", sealed)
	if replaced == sealed || replaced == "" {
		t.Fatalf("the client's session still maps to the forgotten connector session")
	}
	if n := a.toolCount(sid); n != 2 || conn.inits.Load()-inits != 1 {
		t.Fatalf("the next list opened another session (%d tools)", n)
	}

	// The other replica has never seen the replacement: it finds it in the store.
	if n := b.toolCount(sid); n != 2 {
		t.Fatalf("tools/list on the other replica: %d tools", n)
	}
	if got := conn.inits.Load() - inits; got != 1 {
		t.Fatalf("the other replica opened a connector session of its own (%d in all)", got)
	}
	if got := b.agg.CurrentConnectorSession("alice", "demo", "weather", sealed); got != replaced {
		t.Fatalf("the other replica uses another connector session")
	}

	// Restarted again: the chain goes on from the replacement.
	conn.restart()
	b.reload()
	if n := b.toolCount(sid); n != 2 {
		t.Fatalf("tools/list after the second restart: %d tools", n)
	}
	again := b.agg.CurrentConnectorSession("alice", "demo", "weather", sealed)
	a.reload()
	if n := a.toolCount(sid); n != 2 || a.agg.CurrentConnectorSession("alice", "demo", "weather", sealed) != again || again == replaced {
		t.Fatalf("after the second restart the replicas disagree (%d tools)", n)
	}

	// A replica that never saw a replacement ends the latest one when the client ends its
	// session, not the forgotten one.
	c := newReplica(t, egress, db)
	del := httptest.NewRequest(http.MethodDelete, "/v/demo/mcp", nil)
	del.Header.Set("x-vmcp-identity", c.signed)
	del.Header.Set("Mcp-Session-Id", sid)
	c.agg.ServeHTTP(httptest.NewRecorder(), del)
	ping, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"ping"}`))
	ping.Header.Set("Content-Type", "application/json")
	ping.Header.Set("Accept", "application/json, text/event-stream")
	ping.Header.Set("Mcp-Session-Id", again)
	resp, err := http.DefaultClient.Do(ping)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the latest connector session answers HTTP %d after the client's DELETE; want it ended (404)", resp.StatusCode)
	}
}

// A session vmcp keeps for sessionless callers is replaced too, rather than the connector being
// left out (and counted as failing) until the kept session would have expired.
func TestAForgottenKeptSessionIsReplaced(t *testing.T) {
	conn := &restartable{}
	conn.restart()
	srv := httptest.NewServer(conn)
	defer srv.Close()
	a := newReplica(t, strings.TrimPrefix(srv.URL, "http://"), nil)
	if n := a.toolCount(""); n != 2 {
		t.Fatalf("tools/list: %d tools", n)
	}
	conn.restart()
	a.reload()
	if n := a.toolCount(""); n != 2 {
		t.Fatalf("tools/list after the restart: %d tools, want the connector's 2", n)
	}
	if c := a.agg.connectorNamed("demo", "weather"); c.health.resting(time.Now()) {
		t.Fatal("the restarted connector is counted as failing")
	}
}

// Every routed call in a client session asks for its connector session's replacement: a map read
// when connectors have restarted, nothing when none has.
func BenchmarkCurrentConnectorSession(b *testing.B) {
	var r remaps
	b.Run("none replaced", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.current("alice", "demo", "notes", "up-1")
		}
	})
	for i := range 10000 {
		r.remember(remapKey{"user" + strconv.Itoa(i), "demo", "notes", "up-" + strconv.Itoa(i)}, "new", time.Now().Add(time.Hour))
	}
	b.Run("10000 replaced, not this one", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.current("alice", "demo", "notes", "up-1")
		}
	})
	b.Run("10000 replaced, this one", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.current("user1", "demo", "notes", "up-1")
		}
	})
}

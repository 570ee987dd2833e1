// Package stdio serves one stdio MCP server over Streamable HTTP.
//
// A Bridge runs the server process under supervision and is a raw JSON-RPC bridge, not an MCP
// SDK client re-exposed as a server: requests, answers and notifications pass through as the
// bytes they are, so the server's own results, errors, _meta and capabilities reach clients
// unchanged. The bridge owns the process's single MCP session: it sends initialize and
// notifications/initialized once per process start, keeps the InitializeResult, and answers
// every HTTP client's initialize from it with an Mcp-Session-Id of its own, so that any number
// of HTTP sessions share the one process.
//
// On the way in, each request gets a bridge-wide id on the child's stdin (two clients may both
// send id 1) and a minted progress token; on the way out the answer gets the client's id back
// and goes to the POST that is waiting for it — as JSON, or as an SSE stream once something for
// that request (progress, a server-to-client request) arrives before the answer.
//
// Supervision: a process that exits is restarted with capped exponential backoff, initialized
// again, and its tools come back; requests in flight when it died fail with a clear error, and
// requests that arrive while it is down get HTTP 503 after a short wait for it to come back. A
// request without any sign of life within the request timeout fails with error -32001; the
// process is then pinged, and one that does not answer the ping either is killed and restarted.
// Each stderr line is one log event.
package stdio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// Options configure a Bridge.
type Options struct {
	// Key names the process in logs and errors (the connector, and the user when per-user).
	Key     Key
	Command Command
	// RequestTimeout is how long a request may go without an answer or a progress
	// notification before it fails (default 30s).
	RequestTimeout time.Duration
	// StartTimeout bounds a start: the process running and answering initialize (default
	// 60s: `npx -y` may download the server first).
	StartTimeout time.Duration
	// StartWait is how long a request that arrives while the process is (re)starting waits for
	// it before the bridge answers 503 (default 5s).
	StartWait time.Duration
	// MinBackoff and MaxBackoff bound the delay between restarts (defaults 250ms and 30s); the
	// delay doubles with each start that fails or does not stay up for StableAfter.
	MinBackoff, MaxBackoff time.Duration
	// StableAfter is how long a process must run before a crash no longer counts toward the
	// backoff (default 30s).
	StableAfter time.Duration
	// StopGrace is how long a stopping process gets between SIGTERM and SIGKILL (default 5s).
	StopGrace time.Duration
	// Token, when set, is required of every HTTP request as "Authorization: Bearer <Token>", so
	// that only the gateway's Envoy (which injects it) reaches a loopback bridge, not any local
	// process.
	Token string
	// ClientInfo is the clientInfo the bridge gives the process in initialize.
	ClientInfo ClientInfo
	Log        *zap.Logger
}

// ClientInfo is MCP's Implementation object.
type ClientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ProtocolVersion is the MCP revision the bridge asks the process for; a process that speaks
// another one answers with it, and that is what clients are told.
const ProtocolVersion = "2025-11-25"

// Error codes of the bridge's own JSON-RPC errors (implementation-defined server errors).
const (
	// CodeTimeout: the process did not answer a request in time.
	CodeTimeout = -32001
	// CodeUnavailable: the process is not running, or exited while handling the request.
	CodeUnavailable = -32603
)

// Bridge serves one stdio MCP server process over Streamable HTTP. Create it with New, run it
// with Start, serve it with ServeHTTP and end it with Close.
type Bridge struct {
	opts     Options
	log      *zap.Logger
	name     string // for messages: "connector files"
	nextID   atomic.Int64
	sessions *sessions

	mu       sync.Mutex
	cur      *child          // nil while down
	init     json.RawMessage // the process's InitializeResult
	downErr  error           // why it is down
	ready    chan struct{}   // closed while cur is up; replaced when it goes down
	starts   int             // processes started, for "restarted" logs
	serverRq map[string]serverRequest

	cancel context.CancelFunc
	done   chan struct{}
}

// serverRequest is a request from the process to a client, by the id the client was shown.
type serverRequest struct {
	child *child
	id    json.RawMessage // the process's own id
}

// New returns a bridge for opts; nothing runs until Start.
func New(opts Options) *Bridge {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StartWait <= 0 {
		opts.StartWait = 5 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.StableAfter <= 0 {
		opts.StableAfter = 30 * time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.ClientInfo.Name == "" {
		opts.ClientInfo = ClientInfo{Name: "vmcp-stdio-bridge", Version: "1"}
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return &Bridge{
		opts:     opts,
		log:      opts.Log.With(zap.String("connector", opts.Key.String())),
		name:     "connector " + opts.Key.String(),
		sessions: newSessions(),
		ready:    make(chan struct{}),
		downErr:  errors.New("starting"),
		serverRq: map[string]serverRequest{},
		done:     make(chan struct{}),
	}
}

// Start runs and supervises the process until Close.
func (b *Bridge) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.supervise(ctx)
}

// Close stops the process (close stdin, SIGTERM, SIGKILL after the grace period, whole process
// group), ends every GET stream and waits for all of it.
func (b *Bridge) Close() {
	if b.cancel == nil {
		return
	}
	b.cancel()
	<-b.done
}

// Healthy reports whether the process is up and initialized.
func (b *Bridge) Healthy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur != nil
}

// Pid is the running process's id (0 while down), for tests and diagnostics.
func (b *Bridge) Pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		return 0
	}
	return b.cur.proc.pid()
}

// supervise starts the process, initializes it, waits for it to exit, and starts it again after
// a backoff, until ctx is done.
func (b *Bridge) supervise(ctx context.Context) {
	defer close(b.done)
	defer close(b.sessions.closed)
	failures := 0
	for {
		started := time.Now()
		err := b.runOnce(ctx)
		if ctx.Err() != nil {
			b.setDown(errors.New("stopped"))
			b.log.Info("connector process stopped")
			return
		}
		b.setDown(err)
		if time.Since(started) >= b.opts.StableAfter {
			failures = 0
		}
		delay := min(b.opts.MaxBackoff, b.opts.MinBackoff<<min(failures, 20))
		failures++
		b.log.Warn("connector process down; restarting", zap.String("reason", err.Error()), zap.Duration("backoff", delay), zap.Int("failures", failures))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// runOnce runs one process from start to exit (or until ctx is done, then stops it).
func (b *Bridge) runOnce(ctx context.Context) error {
	p, err := startProcess(b.opts.Command, b.log)
	if err != nil {
		return err
	}
	c := newChild(p, b.log)
	go b.read(c)
	initCtx, cancel := context.WithTimeout(ctx, b.opts.StartTimeout)
	result, err := b.handshake(initCtx, c)
	cancel()
	if err != nil {
		p.stop(b.opts.StopGrace)
		return err // roundTrip's errors start with the method
	}
	restart := b.setUp(c, result)
	b.log.Info("connector process ready", zap.Int("pid", p.pid()), zap.Bool("restart", restart))
	if restart {
		// A new process may list other tools than the one before; clients listening on a
		// GET stream learn it without polling. (Sent whether or not the server declared
		// listChanged: the bridge is the server clients talk to.)
		b.sessions.broadcast([]byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`))
	}
	select {
	case <-p.exited:
		return errors.New(exitReason(p.err))
	case <-ctx.Done():
		p.stop(b.opts.StopGrace)
		return ctx.Err()
	}
}

// handshake initializes the process's one MCP session and returns its InitializeResult.
func (b *Bridge) handshake(ctx context.Context, c *child) (json.RawMessage, error) {
	params := map[string]any{
		"protocolVersion": ProtocolVersion,
		// The bridge passes server-to-client requests on to the client that caused them (or
		// to one listening on a GET stream), so it declares what clients commonly support;
		// one that cannot answer replies with an error, which reaches the process. Roots are
		// not declared: the process's roots are its command line, not any one client's.
		"capabilities": map[string]any{"sampling": map[string]any{}, "elicitation": map[string]any{}},
		"clientInfo":   b.opts.ClientInfo,
	}
	m, err := c.roundTrip(ctx, b.nextID.Add(1), "initialize", params)
	if err != nil {
		return nil, err
	}
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(m.Result, &res); err != nil || res.ProtocolVersion == "" {
		return nil, errors.New("initialize: the answer is not an InitializeResult")
	}
	if err := c.send(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		return nil, err
	}
	return m.Result, nil
}

func (b *Bridge) setUp(c *child, init json.RawMessage) (restart bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur, b.init, b.downErr = c, init, nil
	close(b.ready)
	b.starts++
	return b.starts > 1
}

func (b *Bridge) setDown(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur != nil {
		b.ready = make(chan struct{})
	}
	b.cur, b.downErr = nil, err
	// Requests the dead process sent clients can no longer be answered.
	clear(b.serverRq)
}

// up returns the running child, waiting up to StartWait for one while it is (re)starting.
func (b *Bridge) up(ctx context.Context) (*child, json.RawMessage, error) {
	b.mu.Lock()
	c, init, ready := b.cur, b.init, b.ready
	b.mu.Unlock()
	if c != nil {
		return c, init, nil
	}
	t := time.NewTimer(b.opts.StartWait)
	defer t.Stop()
	select {
	case <-ready:
		return b.up(ctx)
	case <-t.C:
	case <-ctx.Done():
	}
	b.mu.Lock()
	downErr := b.downErr
	b.mu.Unlock()
	return nil, nil, fmt.Errorf("%s is not running (%v); it is being restarted", b.name, downErr)
}

// probe pings a process after one of its requests timed out; one that does not answer the ping
// either is hung, and is killed so that supervision restarts it.
func (b *Bridge) probe(c *child) {
	if !c.probing.CompareAndSwap(false, true) {
		return
	}
	defer c.probing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), min(b.opts.RequestTimeout, 5*time.Second))
	defer cancel()
	if _, err := c.roundTrip(ctx, b.nextID.Add(1), "ping", map[string]any{}); err != nil {
		select {
		case <-c.proc.exited:
			return // gone already; supervision has it
		default:
		}
		b.log.Warn("connector process does not answer ping after a request timed out; killing it", zap.Int("pid", c.proc.pid()), zap.Error(err))
		c.proc.kill()
	}
}

// read dispatches every line the process writes to stdout until it closes it.
func (b *Bridge) read(c *child) {
	defer c.proc.stdout.Close()
	r := newLineReader(c.proc.stdout)
	for {
		line, err := r.next()
		if err != nil {
			if !errors.Is(err, errEOF) {
				b.log.Error("connector process wrote a line that is too long; killing it", zap.Error(err))
				c.proc.kill()
			}
			return
		}
		if len(line) == 0 {
			continue
		}
		var m jsonrpc.Message
		if err := json.Unmarshal(line, &m); err != nil || m.JSONRPC != "2.0" {
			// Servers that print banners or debug output to stdout break the protocol;
			// the line is skipped, not fatal.
			b.log.Warn("connector process wrote a non-JSON-RPC line to stdout", zap.Int("bytes", len(line)))
			continue
		}
		b.dispatch(c, &m)
	}
}

// dispatch routes one message from the process.
func (b *Bridge) dispatch(c *child, m *jsonrpc.Message) {
	switch {
	case m.Method == "":
		id, err := strconv.ParseInt(string(m.ID), 10, 64)
		if err != nil {
			return
		}
		if cl := c.take(id); cl != nil {
			cl.answer <- m
		}
	case len(m.ID) == 0:
		b.routeNotification(c, m)
	default:
		b.routeServerRequest(c, m)
	}
}

// routeNotification passes a notification to the client it concerns: progress to the POST whose
// request it reports on, everything else to every session's GET stream.
func (b *Bridge) routeNotification(c *child, m *jsonrpc.Message) {
	if m.Method == "notifications/progress" {
		cl := c.byProgressToken(field(m.Params, "progressToken"))
		if cl == nil {
			return // its request is over
		}
		m.Params = withField(m.Params, "progressToken", cl.clientToken)
		select {
		case cl.notes <- encode(m):
		default:
		}
		return
	}
	if m.Method == "notifications/cancelled" {
		// The process gave up on a request it sent a client: tell that client by the id it
		// was shown.
		b.mu.Lock()
		for shown, sr := range b.serverRq {
			if sr.child == c && string(sr.id) == string(field(m.Params, "requestId")) {
				m.Params = withField(m.Params, "requestId", json.RawMessage(shown))
				delete(b.serverRq, shown)
				break
			}
		}
		b.mu.Unlock()
	}
	msg := encode(m)
	b.sessions.broadcast(msg)
	for _, cl := range c.listeners() {
		select {
		case cl.notes <- msg:
		default:
		}
	}
}

// routeServerRequest passes a request from the process (sampling, elicitation, roots) to the
// client whose call caused it when that can be told, else to a client listening on a GET
// stream, under an id of the bridge's; with no client to ask, the process gets an error at once.
func (b *Bridge) routeServerRequest(c *child, m *jsonrpc.Message) {
	if m.Method == "ping" {
		c.trySend(encode(&jsonrpc.Message{JSONRPC: "2.0", ID: m.ID, Result: json.RawMessage("{}")}))
		return
	}
	shown := json.RawMessage(strconv.Quote("vmcp-" + strconv.FormatInt(b.nextID.Add(1), 10)))
	childID := m.ID
	m.ID = shown
	msg := encode(m)
	delivered := false
	caller := c.byProgressToken(requestProgressToken(m.Params))
	if caller == nil {
		caller = c.soleCaller()
	}
	if caller != nil {
		select {
		case caller.notes <- msg:
			delivered = true
		default:
		}
	}
	if !delivered {
		if s := b.sessions.anyListener(); s != nil {
			delivered = s.deliver(msg)
		}
	}
	if !delivered {
		c.trySend(encode(&jsonrpc.Message{JSONRPC: "2.0", ID: childID, Error: jsonrpc.Errorf(jsonrpc.CodeInternalError, "no MCP client is connected to answer %s", m.Method)}))
		return
	}
	b.mu.Lock()
	b.serverRq[string(shown)] = serverRequest{child: c, id: childID}
	b.mu.Unlock()
}

// clientReply passes a client's answer to a server-to-client request back to the process under
// the process's own id. It reports false for an answer to nothing the bridge knows.
func (b *Bridge) clientReply(m *jsonrpc.Message) bool {
	b.mu.Lock()
	sr, ok := b.serverRq[string(m.ID)]
	delete(b.serverRq, string(m.ID))
	b.mu.Unlock()
	if !ok {
		return false
	}
	m.ID = sr.id
	sr.child.trySend(encode(m))
	return true
}

package stdio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// child is the JSON-RPC conversation with one running server process: a writer goroutine that
// owns its stdin, a reader goroutine that dispatches what it prints, and the requests waiting
// for an answer, keyed by the ids the bridge gave them on the child's stdin.
type child struct {
	proc *process
	log  *zap.Logger
	out  chan []byte // messages waiting for the writer

	mu       sync.Mutex
	pending  map[int64]*call
	progress map[string]*call // minted progress token (its JSON text) → call

	probing atomic.Bool // a liveness ping is under way
}

// call is one request sent to the child and waiting for its answer.
type call struct {
	id       int64
	method   string
	session  *session        // nil for the bridge's own requests and session-less clients
	clientID json.RawMessage // the id the client used, restored on the answer
	// clientToken is the client's progress token, replaced on the child's stdin by one the
	// bridge minted (two clients may both pick token 1) and restored on the way back.
	clientToken json.RawMessage
	// notes carries what the child sends the client about this request before answering it
	// (progress, server-to-client requests), already rewritten for the client.
	notes  chan []byte
	answer chan *jsonrpc.Message
}

// notesBuffer bounds the messages waiting for a slow client on one request; beyond it progress
// notifications are dropped rather than stalling the child's stdout.
const notesBuffer = 64

func newCall(id int64, s *session, clientID json.RawMessage) *call {
	return &call{id: id, session: s, clientID: clientID, notes: make(chan []byte, notesBuffer), answer: make(chan *jsonrpc.Message, 1)}
}

// writeQueue bounds messages waiting to be written to a child that is not reading its stdin.
const writeQueue = 256

func newChild(p *process, log *zap.Logger) *child {
	c := &child{proc: p, log: log, out: make(chan []byte, writeQueue), pending: map[int64]*call{}, progress: map[string]*call{}}
	go c.write()
	return c
}

// write copies queued messages to the child's stdin, one per line (MCP stdio: newline-delimited
// JSON-RPC, no embedded newlines), until the process exits.
func (c *child) write() {
	w := bufio.NewWriter(c.proc.stdin)
	for {
		select {
		case <-c.proc.exited:
			return
		case msg := <-c.out:
			w.Write(msg)
			w.WriteByte('\n')
			// Write what has queued up in one go, then flush.
			for more := true; more; {
				select {
				case m := <-c.out:
					w.Write(m)
					w.WriteByte('\n')
				default:
					more = false
				}
			}
			if err := w.Flush(); err != nil {
				// Its stdin is closed: it is exiting, and Wait will say how.
				return
			}
		}
	}
}

// errChildGone is the reason a message could not be queued.
var errChildGone = errors.New("process exited")

// send queues msg for the child's stdin, waiting while the queue is full (a child that does not
// read) until ctx is done.
func (c *child) send(ctx context.Context, msg []byte) error {
	select {
	case c.out <- msg:
		return nil
	case <-c.proc.exited:
		return errChildGone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// trySend queues msg if there is room, for best-effort messages (cancellations).
func (c *child) trySend(msg []byte) {
	select {
	case c.out <- msg:
	default:
	}
}

// register makes cl the waiter for its id, and for its progress token when it has one.
func (c *child) register(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending[cl.id] = cl
	if cl.clientToken != nil {
		c.progress[strconv.FormatInt(cl.id, 10)] = cl
	}
}

func (c *child) unregister(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, cl.id)
	delete(c.progress, strconv.FormatInt(cl.id, 10))
}

// byProgressToken finds the call a progress token was minted for.
func (c *child) byProgressToken(tok json.RawMessage) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.progress[string(bytes.TrimSpace(tok))]
}

// byClientID finds a session's pending call by the id its client gave it.
func (c *child) byClientID(s *session, id json.RawMessage) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.pending {
		if cl.session == s && bytes.Equal(cl.clientID, id) {
			return cl
		}
	}
	return nil
}

// soleCaller returns the call a server-to-client request most likely belongs to when the child
// does not say (stdio carries no related-request id): the only client call in flight, or the
// latest of several from one and the same session. With calls from different sessions in
// flight it returns nil, so that a request is never shown to a user it was not meant for.
func (c *child) soleCaller() *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var latest *call
	for _, cl := range c.pending {
		if cl.clientID == nil {
			continue // the bridge's own (initialize, ping)
		}
		if latest != nil && (latest.session != cl.session || cl.session == nil) {
			return nil
		}
		if latest == nil || cl.id > latest.id {
			latest = cl
		}
	}
	return latest
}

// listeners returns the calls that are MCP 2026-07-28 subscriptions/listen requests: the
// process's list-change notifications belong on their streams.
func (c *child) listeners() []*call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*call
	for _, cl := range c.pending {
		if cl.method == "subscriptions/listen" {
			out = append(out, cl)
		}
	}
	return out
}

// take removes and returns the call waiting for id.
func (c *child) take(id int64) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.pending[id]
	delete(c.pending, id)
	if cl != nil {
		delete(c.progress, strconv.FormatInt(id, 10))
	}
	return cl
}

// roundTrip sends the bridge's own request and waits for the answer (initialize, ping).
func (c *child) roundTrip(ctx context.Context, id int64, method string, params any) (*jsonrpc.Message, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	cl := newCall(id, nil, nil)
	c.register(cl)
	defer c.unregister(cl)
	if err := c.send(ctx, encode(&jsonrpc.Message{JSONRPC: "2.0", ID: idJSON(id), Method: method, Params: raw})); err != nil {
		if errors.Is(err, errChildGone) {
			<-c.proc.exited
			return nil, fmt.Errorf("%s: %s", method, exitReason(c.proc.err))
		}
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-cl.answer:
		if m.Error != nil {
			return nil, m.Error
		}
		return m, nil
	case <-c.proc.exited:
		return nil, fmt.Errorf("%s: %s", method, exitReason(c.proc.err))
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer: %w", method, ctx.Err())
	}
}

// encode writes m as one line of JSON, leaving <, > and & as they are (json.Marshal would
// escape them: the same JSON, but not the bytes the client sent).
func encode(m *jsonrpc.Message) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		// Every field is a string or already-valid raw JSON.
		panic(fmt.Sprintf("stdio: encode JSON-RPC message: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func idJSON(id int64) json.RawMessage { return json.RawMessage(strconv.FormatInt(id, 10)) }

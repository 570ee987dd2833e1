package stdio

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// session is one HTTP client's MCP session. Every session shares the one child: the session
// exists so that the bridge can tell clients apart (whose progress, whose server-to-client
// request) and hold their GET streams.
type session struct {
	id string

	mu       sync.Mutex
	streams  []chan []byte // open GET streams, oldest first
	lastUsed time.Time
}

// streamBuffer bounds the messages waiting for one GET stream; a client that does not read
// loses notifications rather than stalling the child.
const streamBuffer = 64

// deliver hands msg to the session's oldest GET stream (MCP Streamable HTTP: a message goes to
// one stream, never several). It reports false when there is no stream or it is full.
func (s *session) deliver(msg []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, stream := range s.streams {
		select {
		case stream <- msg:
			return true
		default:
		}
	}
	return false
}

func (s *session) openStream() chan []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	stream := make(chan []byte, streamBuffer)
	s.streams = append(s.streams, stream)
	return stream
}

func (s *session) closeStream(stream chan []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.streams {
		if o == stream {
			s.streams = append(s.streams[:i], s.streams[i+1:]...)
			return
		}
	}
}

func (s *session) hasStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams) > 0
}

func (s *session) touch(now time.Time) {
	s.mu.Lock()
	s.lastUsed = now
	s.mu.Unlock()
}

// maxSessions bounds the session table: clients that never send DELETE must not grow it without
// end. Beyond it the least recently used session is forgotten (its client gets 404 and
// initializes again, as the transport spec has it).
const maxSessions = 10000

// sessions is the bridge's table of HTTP sessions.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
	// closed is closed when the bridge stops, ending every GET stream.
	closed chan struct{}
}

func newSessions() *sessions {
	return &sessions{m: map[string]*session{}, closed: make(chan struct{})}
}

// mint creates a session with a fresh unguessable id.
func (t *sessions) mint(now time.Time) *session {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("stdio: crypto/rand failed: " + err.Error())
	}
	s := &session{id: hex.EncodeToString(b[:]), lastUsed: now}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxSessions {
		var oldest *session
		for _, o := range t.m {
			if oldest == nil || o.lastUsed.Before(oldest.lastUsed) {
				oldest = o
			}
		}
		delete(t.m, oldest.id)
	}
	t.m[s.id] = s
	return s
}

func (t *sessions) get(id string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *sessions) remove(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.m[id]
	delete(t.m, id)
	return ok
}

func (t *sessions) all() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.m))
	for _, s := range t.m {
		out = append(out, s)
	}
	return out
}

// broadcast hands msg to every session's GET stream (list changes, log messages: the child has
// one session, so its notifications concern every client).
func (t *sessions) broadcast(msg []byte) {
	for _, s := range t.all() {
		s.deliver(msg)
	}
}

// anyListener returns a session with an open GET stream, preferring the most recently used.
func (t *sessions) anyListener() *session {
	var best *session
	var bestUsed time.Time
	for _, s := range t.all() {
		if !s.hasStream() {
			continue
		}
		s.mu.Lock()
		used := s.lastUsed
		s.mu.Unlock()
		if best == nil || used.After(bestUsed) {
			best, bestUsed = s, used
		}
	}
	return best
}

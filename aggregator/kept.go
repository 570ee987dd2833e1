package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/vmcp-dev/vmcp/internal/revision"
)

// keptTTL is how long vmcp reuses a connector session it made for a sessionless client.
const keptTTL = 30 * time.Minute

// keptMax bounds the table; when full, expired entries go first, then everything.
const keptMax = 100000

// keptSessions holds the connector sessions vmcp keeps on behalf of clients that keep none
// themselves — stateless clients, and MCP 2026-07-28, which has no sessions — one per user,
// virtual server and connector, made on first use. Stateful connectors (the go-sdk default)
// refuse requests without a session, so without this such clients could not use them at all.
// The table is per replica: another replica simply makes its own.
type keptSessions struct {
	mu sync.Mutex
	m  map[keptKey]keptSession
	// shared holds, per connector, the capabilities and revision its last session was given:
	// a connector tells every session the same, and a copy per kept session was most of what a
	// session-less user cost vmcp.
	shared map[string]sharedInit
}

type sharedInit struct {
	key     string // the capabilities as JSON (sorted keys), and the revision
	version string
	caps    map[string]json.RawMessage
}

type keptKey struct{ subject, vs, connector string }

type keptSession struct {
	sessionID string
	version   string
	caps      map[string]json.RawMessage
	expires   time.Time
}

func (t *keptSessions) get(ctx context.Context, s *Server, c *connector, subject, vs, signedIdentity string) (keptSession, error) {
	key := keptKey{subject, vs, c.name}
	now := time.Now()
	t.mu.Lock()
	if e, ok := t.m[key]; ok && now.Before(e.expires) {
		t.mu.Unlock()
		return e, nil
	}
	t.mu.Unlock()
	// Two first calls at once may both initialize; the later one wins and the other session
	// idles out at the connector. Rare, and cheaper than holding a lock across the network.
	// Nothing is known of what the clients sharing this session can do: claim nothing, so the
	// connector never sends them a request they cannot answer.
	a, err := s.initConnector(ctx, c, signedIdentity, supportedVersions[0], nil)
	if err != nil {
		return keptSession{}, fmt.Errorf("connector %q: %w", c.name, err)
	}
	e := keptSession{sessionID: a.sessionID, version: a.version, caps: a.caps, expires: now.Add(keptTTL)}
	shareKey, _ := json.Marshal(a.caps)
	shareKey = append(shareKey, a.version...)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m, t.shared = map[keptKey]keptSession{}, map[string]sharedInit{}
	}
	if sh, ok := t.shared[c.name]; ok && sh.key == string(shareKey) {
		e.caps, e.version = sh.caps, sh.version
	} else {
		t.shared[c.name] = sharedInit{key: string(shareKey), version: a.version, caps: a.caps}
	}
	if len(t.m) >= keptMax {
		for k, old := range t.m {
			if now.After(old.expires) {
				delete(t.m, k)
			}
		}
		if len(t.m) >= keptMax {
			clear(t.m)
		}
	}
	t.m[key] = e
	return e, nil
}

// renew replaces the kept session stale, which the connector answered 404 in, and says whether
// it opened the one it returns: when another request already replaced it, that one serves.
func (t *keptSessions) renew(ctx context.Context, s *Server, c *connector, subject, vs, signedIdentity, stale string) (keptSession, bool, error) {
	key := keptKey{subject, vs, c.name}
	t.mu.Lock()
	if e, ok := t.m[key]; ok && e.sessionID != stale && time.Now().Before(e.expires) {
		t.mu.Unlock()
		return e, false, nil
	}
	delete(t.m, key)
	t.mu.Unlock()
	e, err := t.get(ctx, s, c, subject, vs, signedIdentity)
	return e, err == nil, err
}

func (t *keptSessions) forget(subject, vs, connector string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, keptKey{subject, vs, connector})
}

// ConnectorSession returns the connector session vmcp keeps for a sessionless client on vs,
// making one on first use (extproc asks for it before routing such a client's tools/call). For
// a client speaking 2026-07-28 (modern) and a connector that does too, there is no session:
// the answer is "" and that revision, and the request goes on as the client sent it.
func (s *Server) ConnectorSession(ctx context.Context, signedIdentity, subject, vs, connector string, modern bool) (sessionID, version string, err error) {
	catalog := s.state.Load()
	if catalog == nil {
		return "", "", fmt.Errorf("not configured")
	}
	if v := catalog.byName[vs]; v != nil {
		for _, c := range v.connectors {
			if c.name == connector {
				ctx, cancel := context.WithTimeout(ctx, c.timeout)
				defer cancel()
				if modern && s.speaksModern(ctx, c, signedIdentity) {
					return "", revision.Modern20260728, nil
				}
				e, err := s.kept.get(ctx, s, c, subject, vs, signedIdentity)
				return e.sessionID, e.version, err
			}
		}
	}
	return "", "", fmt.Errorf("connector %q is not on virtual server %q", connector, vs)
}

// ForgetConnectorSession drops a kept session the connector no longer knows (it answered 404),
// so the next call makes a new one.
func (s *Server) ForgetConnectorSession(subject, vs, connector string) {
	s.kept.forget(subject, vs, connector)
}

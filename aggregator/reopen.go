package aggregator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/connsession"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// A connector that keeps sessions forgets them when it restarts, and answers 404 to each later
// request in one. MCP transports (2025-03-26 and later): "the server MAY terminate the session at
// any time, after which it MUST respond to requests containing that session ID with HTTP 404",
// and the client "MUST start a new session". The connector refused the request before running
// it, so sending it once more in a new session is safe. vmcp does that itself, so that the client
// — whose vmcp session holds many connectors' sessions — never hears of it: a 404 passed on ends
// the client's whole session (go-sdk clients close it), and every other connector's tools with it.
//
// A client's vmcp session id is sealed and cannot change, so the connector session id it carries
// stays the old one. The new one is remembered under the old: in this replica's memory, for the
// request path, and in the shared store, for every other replica. Entries form a chain — each
// forgotten session id names the one that replaced it — so that concurrent re-opens on several
// replicas agree: the store keeps the first, and the others adopt it.

// remapGrant is the store kind of chain entries (short-lived state, like the OAuth grants the
// same table holds, expiring with the client session).
const remapGrant = "connector-session"

// maxChain bounds how many replacements of one connector session are followed: one per restart
// of the connector during the client session.
const maxChain = 32

// maxRemaps bounds this replica's memory of replacements; past it the memory starts over, and a
// request in a forgotten replacement costs one 404 and a store read.
const maxRemaps = 100000

// RemapStore is the shared store that replacement connector sessions are recorded in: PutGrant
// inserts once (a second insert of a key fails), Grant reads a live entry or store.ErrNotFound.
type RemapStore interface {
	PutGrant(ctx context.Context, kind, key string, value []byte, expires time.Time) error
	Grant(ctx context.Context, kind, key string) ([]byte, error)
}

// SetRemapStore makes replacements of forgotten connector sessions visible to every replica that
// shares remapStore. Without one they stay in this replica.
func (s *Server) SetRemapStore(remapStore RemapStore) { s.remaps.store = remapStore }

type remapKey struct{ subject, vs, connector, sealed string }

type remapEntry struct {
	key       remapKey
	sessionID string
	expires   time.Time
}

// remaps holds replacement connector sessions of client sessions.
type remaps struct {
	// m is keyed by the sealed connector session id alone, which the connector made unique;
	// the entry says whose it is. One string hashes faster than four on the request path.
	m     sync.Map // sealed → remapEntry
	n     atomic.Int64
	store RemapStore
}

// current is the connector session to use for the one a client's session id carries (sealed):
// its latest known replacement, or sealed itself. It is on every routed request's path: a map
// read, skipped while nothing was ever replaced.
func (r *remaps) current(subject, vs, connector, sealed string) string {
	if sealed == "" || r.n.Load() == 0 {
		return sealed
	}
	if v, ok := r.m.Load(sealed); ok {
		if e := v.(remapEntry); e.key == (remapKey{subject, vs, connector, sealed}) && time.Now().Before(e.expires) {
			return e.sessionID
		}
	}
	return sealed
}

func (r *remaps) remember(k remapKey, sid string, expires time.Time) {
	if r.n.Load() >= maxRemaps {
		r.m.Clear()
		r.n.Store(0)
	}
	if _, loaded := r.m.Swap(k.sealed, remapEntry{key: k, sessionID: sid, expires: expires}); !loaded {
		r.n.Add(1)
	}
}

func chainKey(k remapKey, stale string) string {
	return k.subject + "\x00" + k.vs + "\x00" + k.connector + "\x00" + stale
}

// CurrentConnectorSession is the connector session to use for the one a client's session id
// carries: its replacement if the connector forgot it, else the same.
func (s *Server) CurrentConnectorSession(subject, vs, connector, sealed string) string {
	return s.remaps.current(subject, vs, connector, sealed)
}

// replace returns the session to use instead of ref.Stale, and whether it is one this call just
// opened (rather than one another request, here or on another replica, put in its place before).
func (s *Server) replace(ctx context.Context, c *connector, ref connsession.Ref) (sid, version string, opened bool, err error) {
	if ref.Sealed == "" {
		e, opened, err := s.kept.renew(ctx, s, c, ref.Subject, ref.VirtualServer, ref.SignedIdentity, ref.Stale)
		return e.sessionID, e.version, opened, err
	}
	k := remapKey{ref.Subject, ref.VirtualServer, ref.Connector, ref.Sealed}
	// Another replica may have replaced it already.
	if cur := s.latest(ctx, k, ref.Stale); cur != ref.Stale {
		s.remaps.remember(k, cur, ref.Expires)
		return cur, "", false, nil
	}
	// What the client declared it can do at initialize is not kept: the new session claims
	// nothing, so the connector asks the client nothing it may not answer.
	a, err := s.initConnector(ctx, c, ref.SignedIdentity, negotiate(ref.Version), nil)
	if err != nil {
		return "", "", false, fmt.Errorf("connector %q: new session: %w", c.name, err)
	}
	sid = a.sessionID
	if remapStore := s.remaps.store; remapStore != nil {
		sealed, err := s.sessions.Seal(session.State{Subject: ref.Subject, VirtualServer: ref.VirtualServer, Upstream: map[string]string{ref.Connector: sid}})
		if err != nil {
			return "", "", false, err
		}
		if perr := remapStore.PutGrant(ctx, remapGrant, chainKey(k, ref.Stale), []byte(sealed), ref.Expires); perr != nil {
			// Another replica replaced the same session first: use its session, end ours.
			winner, err := s.chainNext(ctx, remapStore, k, ref.Stale)
			if err != nil || winner == "" {
				return "", "", false, fmt.Errorf("connector %q: record the new session: %w", c.name, errors.Join(perr, err))
			}
			s.endSession(c, ref.SignedIdentity, a.version, sid)
			sid = winner
		}
	}
	s.remaps.remember(k, sid, ref.Expires)
	s.log.Info("aggregator: connector forgot a client's session; opened a new one", zap.String("vs", ref.VirtualServer), zap.String("connector", c.name))
	return sid, a.version, true, nil
}

// latest follows the chain in the store from connector session sid to the last session that
// replaced it (sid itself when none did, or without a store).
func (s *Server) latest(ctx context.Context, k remapKey, sid string) string {
	remapStore := s.remaps.store
	if remapStore == nil {
		return sid
	}
	for range maxChain {
		next, err := s.chainNext(ctx, remapStore, k, sid)
		if err != nil || next == "" {
			break
		}
		sid = next
	}
	return sid
}

// currentEverywhere is the connector session to end for one a client's session id carries: the
// last that replaced it on any replica.
func (s *Server) currentEverywhere(ctx context.Context, subject, vs, connector, sealed string) string {
	if sealed == "" {
		return ""
	}
	return s.latest(ctx, remapKey{subject, vs, connector, sealed}, s.remaps.current(subject, vs, connector, sealed))
}

// chainNext reads the session that replaced stale, or "" when none did.
func (s *Server) chainNext(ctx context.Context, remapStore RemapStore, k remapKey, stale string) (string, error) {
	v, err := remapStore.Grant(ctx, remapGrant, chainKey(k, stale))
	if err != nil {
		return "", err
	}
	rec, err := s.sessions.Open(string(v), k.subject, k.vs)
	if err != nil {
		return "", err
	}
	return rec.Upstream[k.connector], nil
}

// endSession ends a connector session nobody will use, best effort and off the request path.
func (s *Server) endSession(c *connector, signedIdentity, version, sid string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		s.up.terminate(ctx, call{connector: c, sessionID: sid, protocolVersion: version, identity: signedIdentity})
	}()
}

// sessionGone reports a connector's 404 to a request made in a session.
func sessionGone(err error) bool {
	var status *statusError
	return errors.As(err, &status) && status.status == http.StatusNotFound
}

// inSession runs fn in the caller's session with connector c and, when the connector has
// forgotten that session, once more in a new one.
func (s *Server) inSession(ctx context.Context, req *request, c *connector, method string, fn func(call) error) error {
	cl, err := s.connectorCall(ctx, req, c, method)
	if err != nil {
		return err
	}
	err = fn(cl)
	if !sessionGone(err) || cl.sessionID == "" {
		return err
	}
	ref := s.sessionRef(req, c, cl.sessionID)
	sid, version, _, rerr := s.replace(ctx, c, ref)
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	cl.sessionID = sid
	if version != "" {
		cl.protocolVersion = version
	}
	return fn(cl)
}

// sessionRef names the session cl was sent in for connector c.
func (s *Server) sessionRef(req *request, c *connector, sid string) connsession.Ref {
	ref := connsession.Ref{SignedIdentity: req.signed, Subject: req.caller.Subject, VirtualServer: req.vs.name, Connector: c.name, Stale: sid}
	if req.session != nil && req.session.Upstream[c.name] != "" {
		ref.Sealed, ref.Version, ref.Expires = req.session.Upstream[c.name], req.session.ProtocolVersion, time.Unix(req.session.Expiry, 0)
	}
	return ref
}

// RetryInNewSession sends a routed request (body, as extproc forwarded it) again in a new session
// after the connector answered 404 in ref.Stale, and returns the connector's answer, read whole.
// A connector that answers 404 in the new session too gets the answer as it is: retried once.
func (s *Server) RetryInNewSession(ctx context.Context, ref connsession.Ref, protocolVersion string, body []byte) (*connsession.Answer, error) {
	c := s.connectorNamed(ref.VirtualServer, ref.Connector)
	if c == nil {
		return nil, fmt.Errorf("connector %q is not on virtual server %q", ref.Connector, ref.VirtualServer)
	}
	for attempt := 0; ; attempt++ {
		sid, version, opened, err := s.replace(ctx, c, ref)
		if err != nil {
			return nil, err
		}
		if version != "" {
			protocolVersion = version
		}
		cl := call{connector: c, identity: ref.SignedIdentity, sessionID: sid, protocolVersion: protocolVersion}
		resp, err := s.up.post(ctx, cl, body)
		if err != nil {
			return nil, err
		}
		// Read whole: it becomes one immediate response. The new session claims no client
		// capabilities, so no request to the client (elicitation, sampling) can hold it open.
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUpstream, err)
		}
		if len(data) > maxUpstreamBody {
			return nil, fmt.Errorf("%w: answer over %d bytes", errUpstream, maxUpstreamBody)
		}
		if resp.StatusCode == http.StatusNotFound && !opened && attempt < maxChain {
			// The session another request put in place is gone too (a second restart): this
			// time open one.
			ref.Stale = sid
			continue
		}
		return &connsession.Answer{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
	}
}

func (s *Server) connectorNamed(vs, name string) *connector {
	catalog := s.state.Load()
	if catalog == nil || catalog.byName[vs] == nil {
		return nil
	}
	for _, c := range catalog.byName[vs].connectors {
		if c.name == name {
			return c
		}
	}
	return nil
}

package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/store"
)

// ErrEnded is returned by Open for a session its client ended (HTTP DELETE). MCP transports: a
// terminated session is 404, like an unknown one, so the client starts a new one.
var ErrEnded = errors.New("session ended")

// EndedStore shares ended sessions between replicas; both store backends implement it.
type EndedStore interface {
	EndSession(ctx context.Context, key string, expires time.Time) error
	EndedSessionsSince(ctx context.Context, since time.Time) ([]store.EndedSession, error)
}

// syncOverlap is how far back each sync reads again: another replica's clock may be a little
// behind, and a record committed late carries an earlier time.
const syncOverlap = 2 * time.Minute

// Ended is the set of ended sessions: a map in memory for the request path (no database round
// trip per request), filled from this replica's own DELETEs at once and from the shared store by
// Sync, so a session ended through one replica is refused by every other within one sync
// interval. A record lives as long as the session would have (the store keeps it until then).
type Ended struct {
	store EndedStore
	log   *zap.Logger

	mu     sync.RWMutex
	keys   map[string]int64 // session key → the session's expiry, unix seconds
	synced time.Time        // when the last successful sync began
}

// NewEnded returns an empty set that shares ended sessions through db.
func NewEnded(db EndedStore, log *zap.Logger) *Ended {
	return &Ended{store: db, log: log, keys: map[string]int64{}}
}

// Has reports whether the session named key has ended.
func (e *Ended) Has(key string) bool {
	e.mu.RLock()
	_, ok := e.keys[key]
	e.mu.RUnlock()
	return ok
}

// end records an ended session in the store, then here.
func (e *Ended) end(ctx context.Context, key string, expiry int64) error {
	if err := e.store.EndSession(ctx, key, time.Unix(expiry, 0)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	e.mu.Lock()
	e.keys[key] = expiry
	e.mu.Unlock()
	return nil
}

// Sync learns the sessions other replicas ended since the last sync, and forgets records of
// sessions that have expired anyway.
func (e *Ended) Sync(ctx context.Context) error {
	start := time.Now()
	e.mu.RLock()
	since := e.synced
	e.mu.RUnlock()
	if !since.IsZero() {
		since = since.Add(-syncOverlap)
	}
	ended, err := e.store.EndedSessionsSince(ctx, since)
	if err != nil {
		return fmt.Errorf("sync ended sessions: %w", err)
	}
	now := start.Unix()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range ended {
		e.keys[s.Key] = s.Expires.Unix()
	}
	for k, exp := range e.keys {
		if exp < now {
			delete(e.keys, k)
		}
	}
	e.synced = start
	return nil
}

// Run syncs every interval until ctx ends. A failed sync is logged and retried at the next tick;
// sessions ended through this replica are refused here meanwhile.
func (e *Ended) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := e.Sync(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("ended sessions not synced from the store; other replicas' DELETEs reach this one later", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

package authz

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/store"
)

// RevocationSource is the part of the store holding the revocation list, shared by replicas.
type RevocationSource interface {
	Revocations(ctx context.Context) ([]store.Revocation, error)
	RevocationsVersion(ctx context.Context) (store.RevocationsVersion, error)
}

// revokedSet is the revocation list as Check reads it: built off the request path and swapped
// in whole, so that Check pays one atomic load and, only when something is revoked, a map
// lookup or two — the cached path stays within its budget.
type revokedSet struct {
	tokens   map[string]struct{} // by jti
	families map[string]struct{} // by fid
}

type revocations struct {
	set atomic.Pointer[revokedSet]
}

// revoked reports whether a token with this jti and refresh family digest was revoked.
func (r *revocations) revoked(jti, family string) bool {
	s := r.set.Load()
	if s == nil {
		return false
	}
	if _, ok := s.tokens[jti]; ok && jti != "" {
		return true
	}
	_, ok := s.families[family]
	return ok && family != ""
}

func (r *revocations) replace(list []store.Revocation) {
	if len(list) == 0 {
		r.set.Store(nil)
		return
	}
	s := &revokedSet{tokens: map[string]struct{}{}, families: map[string]struct{}{}}
	for _, e := range list {
		switch e.Kind {
		case store.RevokedToken:
			s.tokens[e.ID] = struct{}{}
		case store.RevokedFamily:
			s.families[e.ID] = struct{}{}
		}
	}
	r.set.Store(s)
}

// revocationResync bounds how long a change the version missed (a delete and a late-committed
// insert in one interval leave count and last seq alike) can go unseen.
const revocationResync = 30 * time.Second

// WatchRevocations keeps the server's revocation list in step with src until ctx is done: it
// polls the list's version every interval and rereads the list when it changed, so a token
// revoked through any replica is refused by this one within about interval. A store that does
// not answer keeps the last list (tokens revoked meanwhile are refused once it answers again).
func (s *Server) WatchRevocations(ctx context.Context, src RevocationSource, interval time.Duration) {
	var last store.RevocationsVersion
	var lastRead time.Time
	loaded := false
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		v, err := src.RevocationsVersion(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("authz: revocation list not read; keeping the last one", zap.Error(err))
			}
		case !loaded || v != last || time.Since(lastRead) >= revocationResync:
			list, err := src.Revocations(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("authz: revocation list not read; keeping the last one", zap.Error(err))
				}
				break
			}
			s.revocations.replace(list)
			if loaded && v != last {
				s.log.Info("authz: revocation list updated", zap.Int("entries", len(list)))
			}
			last, lastRead, loaded = v, time.Now(), true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

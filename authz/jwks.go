package authz

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"
)

// maxJWKSSize bounds a fetched key set.
const maxJWKSSize = 1 << 20

// remoteKeys is one trusted issuer's JWKS, fetched over HTTP and kept until a later fetch
// succeeds: when the identity provider is down, the keys already known keep verifying tokens.
type remoteKeys struct {
	url         string
	interval    time.Duration
	minInterval time.Duration
	client      *http.Client
	log         *zap.Logger
	now         func() time.Time

	set        atomic.Pointer[jwkSet]
	refreshing atomic.Bool
	mu         sync.Mutex // serialises fetches; also the rate limiter's state
	lastFetch  time.Time
}

// jwkSet boxes the interface so it can live in an atomic.Pointer.
type jwkSet struct{ jwk.Set }

func newRemoteKeys(url string, interval, minInterval time.Duration, client *http.Client, log *zap.Logger, now func() time.Time) *remoteKeys {
	r := &remoteKeys{url: url, interval: interval, minInterval: minInterval, client: client, log: log, now: now}
	r.set.Store(&jwkSet{jwk.NewSet()})
	return r
}

// current returns the keys as last fetched, starting a background refresh when they are older
// than the refresh interval.
func (r *remoteKeys) current() jwk.Set {
	r.mu.Lock()
	stale := r.now().Sub(r.lastFetch) > r.interval
	r.mu.Unlock()
	if stale && r.refreshing.CompareAndSwap(false, true) {
		go func() {
			defer r.refreshing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r.refresh(ctx)
		}()
	}
	return r.set.Load().Set
}

// refresh fetches the keys unless the last fetch was less than minInterval ago, so that tokens
// with made-up key ids cannot turn vmcp into a flood against the identity provider. It reports
// whether a fetch happened and succeeded. Concurrent callers queue on the mutex and find the
// fresh keys already in place.
func (r *remoteKeys) refresh(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.lastFetch.IsZero() && r.now().Sub(r.lastFetch) < r.minInterval {
		return false
	}
	r.lastFetch = r.now()
	set, err := r.fetch(ctx)
	if err != nil {
		r.log.Warn("authz: JWKS fetch failed; keeping the keys already known", zap.String("jwks_url", r.url), zap.Error(err))
		return false
	}
	r.set.Store(&jwkSet{set})
	r.log.Info("authz: JWKS fetched", zap.String("jwks_url", r.url), zap.Int("keys", set.Len()))
	return true
}

func (r *remoteKeys) fetch(ctx context.Context) (jwk.Set, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("key set larger than %d bytes", maxJWKSSize)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("not a JWK set: %w", err)
	}
	return set, nil
}

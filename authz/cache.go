package authz

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// tokenCache remembers verified tokens until they expire, keyed by a hash of the audience and the
// token: the token itself is never stored, so a heap dump does not leak credentials.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]verified
	max int
	// hits and misses count lookups for vmcp_authz_token_cache_*; they outlive the cache, which
	// each configuration makes anew.
	hits, misses prometheus.Counter
}

// verified is what a successful verification established.
type verified struct {
	claims tokens.Claims
	issuer *issuer
	// input is the caller's part of the policy input, converted once per token.
	input [][2]*ast.Term
	// grant is the policy's allow for this token, kept when the policy decides per caller.
	grant *grant
}

// grant is an allow with the identity signed for it. It is what a signed-in user costs authz
// between requests, so it holds only what the next allow needs.
type grant struct {
	d      decision
	signed string
}

func newTokenCache(max int, m *metrics) *tokenCache {
	return &tokenCache{m: make(map[[sha256.Size]byte]verified), max: max, hits: m.cacheHits, misses: m.cacheMisses}
}

func cacheKey(audience, token string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(audience))
	h.Write([]byte{0})
	h.Write([]byte(token))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (c *tokenCache) get(k [sha256.Size]byte, now time.Time) (verified, bool) {
	if c.max <= 0 {
		c.misses.Inc()
		return verified{}, false
	}
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(v.claims.Expiry) {
		c.misses.Inc()
		return verified{}, false
	}
	c.hits.Inc()
	return v, true
}

// setGrant keeps g with the token's entry, if it is still cached. The policy input and the
// full claims are dropped then: nothing reads them again, and a cached token of a signed-in
// user is what an open session costs vmcp, so it should be small.
func (c *tokenCache) setGrant(k [sha256.Size]byte, g *grant) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		v.grant, v.input, v.claims.All = g, nil, nil
		c.m[k] = v
	}
}

// put stores v. When full, expired entries are dropped; if that frees nothing, the whole cache
// is cleared — simple, bounded, and a cache miss only costs one verification.
func (c *tokenCache) put(k [sha256.Size]byte, v verified, now time.Time) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.claims.Expiry) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = v
}

package clientmeta

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cache lifetimes. CIMD-00 §4.4: the authorization server SHOULD respect HTTP cache headers
// (RFC 9111) but MAY set its own lower and upper bounds. The floor keeps a client from making
// vmcp fetch its document on every authorization request (load, and the fetch side channel of
// CIMD-02 §9.1); the ceiling bounds how long an edited or withdrawn document keeps working.
const (
	MinCacheTTL     = time.Minute
	MaxCacheTTL     = 24 * time.Hour
	DefaultCacheTTL = 5 * time.Minute
)

// cacheTTL is how long a document served with header h may be reused, from RFC 9111's freshness
// lifetime clamped to [MinCacheTTL, MaxCacheTTL]. no-store, no-cache and max-age=0 therefore
// mean MinCacheTTL, not zero: the document is public, and the floor is the point.
func cacheTTL(h http.Header, now time.Time) time.Duration {
	ttl, ok := freshness(h, now)
	if !ok {
		return DefaultCacheTTL
	}
	return min(max(ttl, MinCacheTTL), MaxCacheTTL)
}

// freshness returns RFC 9111 §4.2.1's freshness lifetime minus the response's Age, and false
// when the response states none.
func freshness(h http.Header, now time.Time) (time.Duration, bool) {
	var (
		maxAge   time.Duration
		seen     int
		noReuse  bool
		invalid  bool
		cacheCtl = strings.Join(h.Values("Cache-Control"), ",")
	)
	for _, d := range strings.Split(cacheCtl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache":
			noReuse = true
		case "max-age":
			seen++
			// RFC 9111 §5.2: senders use the token form; recipients should accept a quoted one.
			n, ok := deltaSeconds(strings.Trim(strings.TrimSpace(value), `"`))
			if !ok {
				invalid = true
				continue
			}
			maxAge = n
		}
	}
	if noReuse {
		return 0, true
	}
	// RFC 9111 §4.2.1: with more than one max-age, or an invalid one, the response should be
	// considered stale.
	if seen > 1 || invalid {
		return 0, true
	}
	if seen == 1 {
		return maxAge - age(h), true
	}
	// RFC 9111 §5.3: without max-age, Expires minus Date; an invalid Expires means already
	// expired.
	if exp := h.Get("Expires"); exp != "" {
		e, err := http.ParseTime(exp)
		if err != nil {
			return 0, true
		}
		date := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			date = d
		}
		return e.Sub(date) - age(h), true
	}
	return 0, false
}

// age is the response's Age header (RFC 9111 §5.1): time it already spent in caches upstream.
func age(h http.Header) time.Duration {
	n, _ := deltaSeconds(strings.TrimSpace(h.Get("Age")))
	return n
}

// deltaSeconds parses RFC 9111 §1.2.2 delta-seconds (1*DIGIT). A value too large to represent
// is taken as 2^31 seconds, as that section says.
func deltaSeconds(s string) (time.Duration, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > 1<<31 {
		n = 1 << 31
	}
	return time.Duration(n) * time.Second, true
}

type cacheEntry struct {
	doc     *Document
	expires time.Time
}

// cacheGet returns the cached document for clientID if it is still fresh. f.mu is held.
func (f *Fetcher) cacheGet(clientID string, now time.Time) (*Document, bool) {
	e, ok := f.cache[clientID]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(f.cache, clientID)
		return nil, false
	}
	return e.doc, true
}

// cachePut stores a valid document; errors and invalid documents never get here (CIMD-00 §4.4:
// MUST NOT cache error responses or invalid documents). The cache is bounded because its keys
// come from unauthenticated clients: when full, expired entries go first, then the one closest
// to expiry. f.mu is held.
func (f *Fetcher) cachePut(clientID string, doc *Document, expires, now time.Time) {
	if _, ok := f.cache[clientID]; !ok && len(f.cache) >= f.maxEntries {
		var victim string
		var soonest time.Time
		for k, e := range f.cache {
			if !now.Before(e.expires) {
				delete(f.cache, k)
				continue
			}
			if victim == "" || e.expires.Before(soonest) {
				victim, soonest = k, e.expires
			}
		}
		if len(f.cache) >= f.maxEntries {
			delete(f.cache, victim)
		}
	}
	f.cache[clientID] = cacheEntry{doc: doc, expires: expires}
}

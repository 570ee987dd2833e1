package aggregator

import (
	"encoding/json"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
)

// listCacheTTL bounds how long a connector's list is reused. Connectors' list_changed
// notifications are not followed yet, so this is what keeps a changed list from going stale;
// a configuration or policy reload starts with an empty cache.
const listCacheTTL = 30 * time.Second

// listCache keeps each connector's complete lists (every page), so that a tools/list does not
// fan out to every connector every time (docs/design.md, "Lessons"). Lists are the same for every
// caller while connector credentials are shared; filtering per caller happens after the cache.
type listCache struct {
	mu sync.Mutex
	m  map[listKey]listEntry
	// gen counts the lists put, so that what is derived from them (the tool-name index) knows
	// when to derive again.
	gen atomic.Uint64
}

// generation changes whenever a list is put.
func (c *listCache) generation() uint64 { return c.gen.Load() }

type listKey struct{ connector, method string }

type listEntry struct {
	items []map[string]json.RawMessage
	// names are the items' names, for routing to ask whether a tool exists without a scan.
	names   map[string]struct{}
	expires time.Time
	// sum fingerprints the list, to tell a changed list from a refreshed one.
	sum uint64
}

func (c *listCache) get(connector, method string, now time.Time) ([]map[string]json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[listKey{connector, method}]
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return e.items, true
}

// has says whether a connector's cached list (method) names an item name; cached is false when
// there is no fresh list to tell.
func (c *listCache) has(connector, method, name string, now time.Time) (found, cached bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[listKey{connector, method}]
	if !ok || now.After(e.expires) {
		return false, false
	}
	_, found = e.names[name]
	return found, true
}

// listed says whether the connector's latest list (method) names an item name, expired or not.
func (c *listCache) listed(connector, method, name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, found := c.m[listKey{connector, method}].names[name]
	return found
}

func namesOf(items []map[string]json.RawMessage) map[string]struct{} {
	names := make(map[string]struct{}, len(items))
	for _, item := range items {
		if n, ok := rawString(item["name"]); ok {
			names[n] = struct{}{}
		}
	}
	return names
}

// put stores a connector's list and says whether it differs from the one it replaces (false for
// the first list seen: nobody was told of the old one).
func (c *listCache) put(connector, method string, items []map[string]json.RawMessage, now time.Time) (changed bool) {
	h := fnv.New64a()
	json.NewEncoder(h).Encode(items) // map keys encode sorted: equal lists, equal sums
	sum := h.Sum64()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[listKey]listEntry{}
	}
	old, had := c.m[listKey{connector, method}]
	c.m[listKey{connector, method}] = listEntry{items: items, names: namesOf(items), expires: now.Add(listCacheTTL), sum: sum}
	c.gen.Add(1)
	return had && old.sum != sum
}

// drop forgets a connector's lists of one kind ("tools", "prompts", "resources"), which it said
// have changed.
func (c *listCache) drop(connector, kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, method := range listKinds[kind] {
		delete(c.m, listKey{connector, method})
	}
	c.gen.Add(1)
}

// stale returns a connector's last list even when it has expired, for a connector resting after
// failures: a list a minute old beats none.
func (c *listCache) stale(connector, method string) ([]map[string]json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[listKey{connector, method}]
	return e.items, ok
}

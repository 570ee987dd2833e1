package aggregator

import (
	"encoding/json"
	"sync"
	"time"
)

// listCacheTTL bounds how long a connector's list is reused. Connectors' list_changed
// notifications are not followed yet, so this is what keeps a changed list from going stale;
// a configuration or policy reload starts with an empty cache.
const listCacheTTL = 30 * time.Second

// listCache keeps each connector's complete lists (every page), so that a tools/list does not
// fan out to every connector every time (DESIGN.md, "Lessons"). Lists are the same for every
// caller while connector credentials are shared; filtering per caller happens after the cache.
type listCache struct {
	mu sync.Mutex
	m  map[listKey]listEntry
}

type listKey struct{ connector, method string }

type listEntry struct {
	items   []map[string]json.RawMessage
	expires time.Time
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

func (c *listCache) put(connector, method string, items []map[string]json.RawMessage, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[listKey]listEntry{}
	}
	c.m[listKey{connector, method}] = listEntry{items: items, expires: now.Add(listCacheTTL)}
}

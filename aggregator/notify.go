package aggregator

import (
	"sync"
)

// listChanged names the notification sent when a kind of list changes.
var listChanged = map[string]string{
	"tools":     "notifications/tools/list_changed",
	"prompts":   "notifications/prompts/list_changed",
	"resources": "notifications/resources/list_changed",
}

// hub tells open client streams (2025 GET streams, 2026-07-28 subscriptions/listen) that a
// virtual server's lists changed: on every configuration or policy reload (every replica
// reloads, so each tells its own clients) and when a connector's list is seen to change.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

// subscriber is one open stream of one virtual server.
type subscriber struct {
	vs string
	// ch carries list kinds ("tools", ...); a full channel drops the extra signal, which is
	// harmless: one list_changed says everything a second one would.
	ch chan string
}

func (h *hub) subscribe(vs string) *subscriber {
	s := &subscriber{vs: vs, ch: make(chan string, 8)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[*subscriber]struct{}{}
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// publish signals kind on every stream of virtual server vs ("" for all of them).
func (h *hub) publish(vs, kind string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if vs != "" && s.vs != vs {
			continue
		}
		select {
		case s.ch <- kind:
		default:
		}
	}
}

// listChangedAt tells the clients of every virtual server with connector that its kind of list
// changed.
func (s *Server) listChangedAt(catalog *catalog, connector, kind string) {
	for name, vs := range catalog.byName {
		for _, c := range vs.connectors {
			if c.name == connector {
				s.hub.publish(name, kind)
				break
			}
		}
	}
}

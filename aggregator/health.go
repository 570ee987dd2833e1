package aggregator

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Rest periods of a failing connector: the first failure rests it restMin, each further one
// doubles that, up to restMax.
var (
	restMin = time.Second
	restMax = time.Minute
)

// errResting leaves a connector out of a fan-out while it rests after failures.
var errResting = errors.New("connector is failing; left out until it is retried")

// health remembers a connector's recent failures. While a failing connector rests, fan-outs do
// not wait for it: they answer from its last list when there is one, or without it (docs/design.md:
// one slow or failing connector never stalls the whole answer). The first request after the
// rest tries it again.
type health struct {
	mu       sync.Mutex
	failures int
	until    time.Time
}

func (h *health) resting(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return now.Before(h.until)
}

// failing says whether the latest request to the connector failed.
func (h *health) failing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failures > 0
}

// observe notes the outcome of one request to the connector. Only the connector's failures
// count (unreachable, an HTTP error, too slow); a JSON-RPC error is an answer.
func (h *health) observe(err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if refusedCaller(err) {
		return // one caller's credential refused; the connector is fine
	}
	if err == nil || !(errors.Is(err, errUpstream) || errors.Is(err, context.DeadlineExceeded)) {
		h.failures, h.until = 0, time.Time{}
		return
	}
	h.failures++
	rest := restMax
	if h.failures < 8 {
		rest = min(restMin<<(h.failures-1), restMax)
	}
	h.until = now.Add(rest)
}

package toolpolicy

import (
	"strconv"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// memoSize bounds the reused decisions of one compiled policy (a few hundred bytes each); when
// full the memo starts over, which only costs evaluations.
const memoSize = 1 << 16

// memoKey is everything a decision without arguments depends on. vs is the virtual server's
// converted input term, made once per configuration, so its pointer stands for its content.
type memoKey struct {
	scope                            string
	vs                               *ast.Term
	action, connector, tool, exposed string
}

// memo holds decisions of one compiled policy; a reload compiles a new policy with an empty one.
type memo struct {
	mu  sync.RWMutex
	m   map[memoKey]Decision
	max int
}

func newMemo(max int) *memo { return &memo{m: map[memoKey]Decision{}, max: max} }

func (m *memo) get(k memoKey) (Decision, bool) {
	m.mu.RLock()
	d, ok := m.m[k]
	m.mu.RUnlock()
	return d, ok
}

func (m *memo) put(k memoKey, d Decision) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) >= m.max {
		clear(m.m)
	}
	m.m[k] = d
}

// callerKey is a Caller as one string, each field length-prefixed so that no two callers share
// a key whatever bytes their claims hold; groups in their order.
func callerKey(c Caller) string {
	b := make([]byte, 0, 64)
	for _, s := range append([]string{c.Subject, c.Email, c.ClientID}, c.Groups...) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	return string(b)
}

package authz

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// limiterMax bounds the users with a bucket. When full, buckets that have refilled (their users
// idle for a while) go first; if none has, all are dropped — a user then starts with a full
// bucket, which errs on the side of serving.
const limiterMax = 100000

// limiters holds one token bucket per user of a virtual server with a rate_limit. It is built
// with the configuration: a reload starts every bucket full again.
type limiters struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[limitKey]*rate.Limiter
}

// limitKey is a user: subjects are unique per issuer only.
type limitKey struct{ issuer, subject string }

func newLimiters(rl config.RateLimit) *limiters {
	if rl.RequestsPerMinute <= 0 {
		return nil
	}
	return &limiters{limit: rate.Limit(float64(rl.RequestsPerMinute) / 60), burst: rl.Burst, m: map[limitKey]*rate.Limiter{}}
}

// allow takes a token from the user's bucket; when there is none it says how long until there
// is. Without a rate_limit (l nil) it costs nothing.
func (l *limiters) allow(issuer, subject string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	k := limitKey{issuer, subject}
	l.mu.Lock()
	lim := l.m[k]
	if lim == nil {
		if len(l.m) >= limiterMax {
			l.prune(now)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[k] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// prune drops full buckets, or everything when none is full. Called with mu held.
func (l *limiters) prune(now time.Time) {
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, k)
		}
	}
	if len(l.m) >= limiterMax {
		clear(l.m)
	}
}

package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps one token bucket per access token.
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[int64]*rate.Limiter
}

// newLimiter limits each token to r requests a second with bursts of burst; a
// negative r turns the limit off.
func newLimiter(r float64, burst int) *limiter {
	l := &limiter{rate: rate.Limit(r), burst: burst, buckets: map[int64]*rate.Limiter{}}
	if r < 0 {
		l.rate = rate.Inf
	}
	return l
}

// allow takes one request from token's bucket. When the bucket is empty it
// returns false and how long until a request would be allowed.
func (l *limiter) allow(token int64) (time.Duration, bool) {
	l.mu.Lock()
	b, ok := l.buckets[token]
	if !ok {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[token] = b
	}
	l.mu.Unlock()

	now := time.Now()
	res := b.ReserveN(now, 1)
	if !res.OK() {
		return time.Second, false
	}
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now)
		return wait, false
	}
	return 0, true
}

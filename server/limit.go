package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps one token bucket per key: an access token, or the address of a
// caller without a valid one.
type limiter[K comparable] struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[K]*rate.Limiter
}

// newLimiter limits each token to r requests a second with bursts of burst; a
// negative r turns the limit off.
func newLimiter[K comparable](r float64, burst int) *limiter[K] {
	l := &limiter[K]{rate: rate.Limit(r), burst: burst, buckets: map[K]*rate.Limiter{}}
	if r < 0 {
		l.rate = rate.Inf
	}
	return l
}

// allow takes one request from key's bucket. When the bucket is empty it returns
// false and how long until a request would be allowed.
func (l *limiter[K]) allow(key K) (time.Duration, bool) {
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		// Forget every full bucket now and then, so that callers that come and go
		// do not pile up.
		if len(l.buckets) >= maxBuckets {
			l.prune()
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = b
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

// maxBuckets is the number of buckets above which full ones are forgotten.
const maxBuckets = 10000

// prune drops the buckets that are full again, which a new bucket equals. The
// caller holds mu.
func (l *limiter[K]) prune() {
	now := time.Now()
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

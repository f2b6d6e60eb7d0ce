package mqtt

import (
	"math/rand/v2"
	"sync"
	"time"
)

// backoff is the wait before each connection attempt. Paho counts failed
// attempts only until a connection is made, and starts again from no wait
// once it is lost. A connection that dies at once (the broker refuses what
// placard sends, or another client with the same id takes the session
// over) is then retried at once, for ever: two replicas with one client id
// made 3,141 connections in 14 s that way. Here, a connection that did not
// last `stable` counts as one more failure, so the waits keep growing; one
// that lasted resets them.
type backoff struct {
	min, max time.Duration
	// stable is how long a connection must last for the waits to start
	// again from none.
	stable time.Duration
	now    func() time.Time
	// jitter spreads a wait d over [d/2, d], so that clients that lost
	// the broker together do not come back together.
	jitter func(d time.Duration) time.Duration

	mu    sync.Mutex
	fails int       // failures since the last stable connection, before this round
	last  int       // failures counted at the last wait
	upAt  time.Time // when the current connection was made
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, stable: max, now: time.Now,
		jitter: func(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }}
}

// delay is Paho's ReconnectBackoff: the wait before the attempt-th
// attempt (from 0) since the connection was lost.
func (b *backoff) delay(attempt int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.fails + attempt
	b.last = n
	if n == 0 {
		return 0
	}
	return b.jitter(b.wait(n))
}

// wait is the longest wait after n failures: min, doubled after each, up
// to max.
func (b *backoff) wait(n int) time.Duration {
	d := b.min
	for i := 1; i < n && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// up records a connection made.
func (b *backoff) up() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.upAt = b.now()
}

// down records the connection lost; it reports whether the connection
// died before it was stable.
func (b *backoff) down() (early bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.now().Sub(b.upAt) >= b.stable {
		b.fails = 0
		return false
	}
	// The attempts that made it failed before it, and it failed too.
	b.fails = b.last + 1
	return true
}

// Package limit bounds how often something may happen: at most Max events
// in any window of Per, for each key (a screen, a client address, or one
// key for everything), on an injected clock.
//
// It keeps the time of each event in the window (a sliding log), so that
// "the 21st in a minute" is refused exactly, whatever the spacing; Max is
// small wherever it is used (tens), so this costs little.
package limit

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Rate is Max events in any window of Per.
type Rate struct {
	Max int
	Per time.Duration
}

func (r Rate) String() string { return fmt.Sprintf("%d per %v", r.Max, r.Per) }

// Limiter applies one Rate to each key.
type Limiter struct {
	rate Rate
	now  func() time.Time

	mu     sync.Mutex
	events map[string][]time.Time // oldest first, all within the window
	calls  int
}

// New returns a limiter of rate on the clock now (time.Now when nil). A
// rate with Max ≤ 0 allows nothing.
func New(rate Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, now: now, events: map[string][]time.Time{}}
}

// Rate returns the limiter's rate.
func (l *Limiter) Rate() Rate { return l.rate }

// sweepEvery is how many calls pass between sweeps of keys whose events
// have all left the window, so that a stream of one-off keys (client
// addresses) does not grow the map without bound.
const sweepEvery = 1024

// Allow records an event for key when the rate allows it and reports so.
// When it does not, nothing is recorded and retry is when the next event
// will be allowed.
func (l *Limiter) Allow(key string) (ok bool, retry time.Time) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls%sweepEvery == 0 {
		for k, ev := range l.events {
			if len(l.prune(ev, now)) == 0 {
				delete(l.events, k)
			}
		}
	}
	ev := l.prune(l.events[key], now)
	if len(ev) >= l.rate.Max {
		if len(ev) == 0 {
			return false, now.Add(l.rate.Per)
		}
		l.events[key] = ev
		// The window frees a place when its oldest event leaves it.
		return false, ev[len(ev)-l.rate.Max].Add(l.rate.Per)
	}
	l.events[key] = append(ev, now)
	return true, time.Time{}
}

// Check reports whether an event of key would be allowed now, recording
// nothing; retry is as Allow's. A caller that learns only later whether
// an event counts (a code that turns out to be right is no guess) checks
// first and calls Allow once it knows.
func (l *Limiter) Check(key string) (ok bool, retry time.Time) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.prune(l.events[key], now)
	l.events[key] = ev
	if len(ev) < l.rate.Max {
		return true, time.Time{}
	}
	if len(ev) == 0 {
		return false, now.Add(l.rate.Per)
	}
	return false, ev[len(ev)-l.rate.Max].Add(l.rate.Per)
}

// Undo forgets the latest event of key: one that this limiter allowed but
// another refused, so that it does not count.
func (l *Limiter) Undo(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev := l.events[key]; len(ev) > 0 {
		l.events[key] = ev[:len(ev)-1]
	}
}

// Count returns how many events of key are in the window now.
func (l *Limiter) Count(key string) int {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.prune(l.events[key], now))
}

// prune drops the events that have left the window ending at now.
func (l *Limiter) prune(ev []time.Time, now time.Time) []time.Time {
	start := now.Add(-l.rate.Per)
	i := 0
	for i < len(ev) && !ev[i].After(start) {
		i++
	}
	return ev[i:]
}

// ClientKey is the key of a client address in a per-address limit: the
// address itself for IPv4, its /64 for IPv6. One IPv6 host usually holds
// a whole /64 (SLAAC, privacy addresses) and can pick a new address in it
// for each request; keyed by address, it would never be limited.
// Something that is not an address is its own key.
func ClientKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

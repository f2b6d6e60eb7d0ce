package wire

import "time"

// Backoff paces a screen's tries to reach the edge server after it lost
// it: exponential, with full jitter. When a server restarts, every screen
// it had lost tries again; with each one's wait drawn at random from a
// window that doubles with each failed try, they come back spread over
// that window instead of in step (the Wasm, the fallback script and the
// load generator of `make bench` all follow it).
type Backoff struct {
	// First is the window of the first try after a loss.
	First time.Duration
	// Max bounds the window.
	Max time.Duration
}

// Reconnect is the screens' backoff: a first try within a second, the
// window doubling to half a minute. web/static/fallback.js has the same
// numbers (it cannot import them).
var Reconnect = Backoff{First: time.Second, Max: 30 * time.Second}

// Delay is the wait before try n (1 for the first after a loss), for u
// drawn uniformly from [0, 1): between a quarter of First and the window
// of try n, First·2^(n-1) up to Max. The quarter keeps a screen from
// trying again at once, in a loop, when the server refuses it at once.
func (b Backoff) Delay(n int, u float64) time.Duration {
	window := b.Max
	if n < 1 {
		n = 1
	}
	if n <= 30 && b.First<<(n-1) < b.Max {
		window = b.First << (n - 1)
	}
	floor := b.First / 4
	if window < floor {
		return floor
	}
	return floor + time.Duration(u*float64(window-floor))
}

// After is the wait before try n when the server said when to come back
// (an HTTP 503's Retry-After, zero for none): never earlier than it said,
// and spread over a quarter of it more, so that screens told the same
// moment do not come back in step.
func (b Backoff) After(n int, u float64, retryAfter time.Duration) time.Duration {
	d := b.Delay(n, u)
	if spread := retryAfter + time.Duration(u*float64(retryAfter/4)); spread > d {
		return spread
	}
	return d
}

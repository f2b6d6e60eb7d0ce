// Package admit bounds how much of one kind of work runs at once: a few
// at a time, a bounded queue behind them, and past the queue a refusal
// that says when to come back (HTTP 503 with Retry-After).
//
// A storm (every screen of a building signing in, or reconnecting to a
// server that restarted) would otherwise run thousands of page renders,
// sign-ins and hellos at once. Each holds a deep goroutine stack and its
// buffers; memory at the peak is what the process keeps long after, and
// the work finishes no sooner for being started all at once on two cores.
package admit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Gate admits Running callers at once and queues up to Queue more, each
// for at most Wait; it refuses the rest.
type Gate struct {
	what    string
	running chan struct{}
	queue   int
	wait    time.Duration

	mu      sync.Mutex
	queued  int
	took    time.Duration // moving average of a caller's time inside
	refused int64
	// stormed is set when a caller had to queue or was refused, and
	// cleared when the gate is empty again, which onCalm is told.
	stormed bool
	onCalm  func()
}

// Limits are the bounds of a Gate.
type Limits struct {
	// Running is how many callers are inside at once.
	Running int
	// Queue is how many more may wait for a place; past it, callers are
	// refused at once.
	Queue int
	// Wait is the longest a caller waits in the queue before it is
	// refused.
	Wait time.Duration
}

func (l Limits) String() string {
	return fmt.Sprintf("%d at once, %d queued for at most %v", l.Running, l.Queue, l.Wait)
}

// New returns a gate for work called what ("page renders") within l.
func New(what string, l Limits) *Gate {
	if l.Running < 1 {
		l.Running = 1
	}
	if l.Queue < 0 {
		l.Queue = 0
	}
	return &Gate{what: what, running: make(chan struct{}, l.Running), queue: l.Queue, wait: l.Wait}
}

// Busy is a caller refused: the queue was full, or its wait was over.
type Busy struct {
	What string
	// RetryAfter is when the work may be done: about the time the queue
	// takes to drain, from the time callers take inside.
	RetryAfter time.Duration
}

func (b *Busy) Error() string {
	return fmt.Sprintf("too many %s at once: try again in %v", b.What, b.RetryAfter)
}

// IsBusy reports whether err is a Gate's refusal.
func IsBusy(err error) bool {
	var b *Busy
	return errors.As(err, &b)
}

// Enter takes a place, waiting in the queue when every place is taken. It
// returns the function that gives the place back (call it once), or a
// *Busy when the queue is full or the wait is over, or ctx's error.
func (g *Gate) Enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.running <- struct{}{}:
		return g.leaver(), nil
	default:
	}
	g.mu.Lock()
	g.stormed = true
	if g.queued >= g.queue {
		g.refused++
		g.mu.Unlock()
		return nil, g.busy()
	}
	g.queued++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.queued--
		if err != nil {
			g.refused++
		}
		g.mu.Unlock()
	}()
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.running <- struct{}{}:
		return g.leaver(), nil
	case <-t.C:
		return nil, g.busy()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// OnCalm sets f to be called when the gate is empty again after a storm
// (callers had to queue, or were refused): when what a storm left behind
// can be given back. f must not block.
func (g *Gate) OnCalm(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onCalm = f
}

// leaver returns the function that gives a place back and notes how long
// it was held.
func (g *Gate) leaver() func() {
	entered := time.Now()
	var once sync.Once
	return func() {
		once.Do(func() {
			d := time.Since(entered)
			<-g.running
			g.mu.Lock()
			g.took += (d - g.took) / 8
			calm := g.stormed && g.queued == 0 && len(g.running) == 0
			if calm {
				g.stormed = false
			}
			f := g.onCalm
			g.mu.Unlock()
			if calm && f != nil {
				f()
			}
		})
	}
}

// busy is the refusal, with the time the queue takes to drain: the queue
// and the callers inside, each taking the average time, Running at once.
// At least a second (Retry-After counts whole seconds), at most
// maxRetryAfter.
func (g *Gate) busy() *Busy {
	g.mu.Lock()
	drain := time.Duration(g.queued+len(g.running)) * g.took / time.Duration(cap(g.running))
	g.mu.Unlock()
	return &Busy{What: g.what, RetryAfter: min(max(drain, time.Second), maxRetryAfter).Round(time.Second)}
}

// maxRetryAfter bounds the wait a refusal asks for. A storm drains faster
// than its start suggests (a caller's time inside is longest while the
// queue is fullest), and each wait is spread by a quarter more twice, by
// the header and by the screen: a refusal late in a restart's storm told a
// minute brought its screen back after 100 s, where another try, refused
// at no cost if still too soon, would have found room. Twenty seconds, so
// spread, is within the screens' own backoff window (wire.Reconnect).
const maxRetryAfter = 20 * time.Second

// Stats are a gate's counts, for metrics.
type Stats struct {
	Running, Queued int
	Refused         int64
}

// Stats returns the gate's counts now.
func (g *Gate) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Stats{Running: len(g.running), Queued: g.queued, Refused: g.refused}
}

// Handler serves next within the gate, and answers a request refused with
// refuse (Refuse when nil).
func (g *Gate) Handler(next http.Handler, refuse func(http.ResponseWriter, *Busy)) http.Handler {
	if refuse == nil {
		refuse = Refuse
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leave, err := g.Enter(r.Context())
		if err != nil {
			var b *Busy
			if errors.As(err, &b) {
				refuse(w, b)
			}
			return // the client has gone
		}
		defer leave()
		next.ServeHTTP(w, r)
	})
}

// retryAfter sets a refusal's headers and returns its Retry-After in
// seconds. Clients spread their next try over a window of their own
// (wire.Backoff); the header adds up to a quarter of the time more, at
// random, so that those refused together are not told the same second.
func retryAfter(w http.ResponseWriter, b *Busy) int {
	secs := int(b.RetryAfter / time.Second)
	secs += rand.IntN(secs/4 + 1)
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("Cache-Control", "no-store")
	return secs
}

// Refuse answers a refused request: 503, Retry-After, and a sentence.
func Refuse(w http.ResponseWriter, b *Busy) {
	secs := retryAfter(w, b)
	http.Error(w, "The edge server is busy ("+b.What+"): try again in "+strconv.Itoa(secs)+" s.", http.StatusServiceUnavailable)
}

// RefusePage answers a refused page: 503, Retry-After, and a page that
// loads itself again after that time (a meta refresh, which needs no
// script: a TV's browser opening its page comes back by itself).
func RefusePage(w http.ResponseWriter, b *Busy) {
	secs := strconv.Itoa(retryAfter(w, b))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="%s">`+
		`<meta name="viewport" content="width=device-width"><title>placard</title></head>`+
		`<body><p data-testid="busy">The edge server is busy with many screens at once: this page loads again in %s s.</p></body></html>`, secs, secs)
}

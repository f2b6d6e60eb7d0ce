package admit

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Reclaim gives back to the system what a storm left behind once it is
// over. A storm's work grows the heap (freed when it ends, but kept by the
// runtime until collections that a quiet server may not run for minutes)
// and the goroutine stacks started meanwhile (the runtime starts new
// goroutines at the average stack size it last saw, which deep work
// raises; a collection halves a stack that uses under a quarter of it).
// Told of each gate's calm (Gate.OnCalm), it waits for the storm to
// settle and runs the collections that shrink the stacks and return the
// memory, at most once per Every.
type Reclaim struct {
	// Settle is how long no gate may have been stormy before reclaiming.
	Settle time.Duration
	// Every bounds how often it reclaims.
	Every time.Duration
	// Free reclaims (Collect when nil).
	Free func()

	mu      sync.Mutex
	timer   *time.Timer
	last    time.Time
	stopped bool
}

// Collect runs the collections that shrink stacks grown in a storm and
// returns the heap's free memory to the system. A collection halves a
// stack that uses under a quarter of it, no more: a connection begun in a
// storm starts at the runtime's average stack size of then, raised by the
// storm's deep work, which can be eight times what it uses. So it
// collects again while the stacks still shrink, up to maxShrinks times.
func Collect() {
	before := stackBytes()
	for range maxShrinks {
		runtime.GC()
		after := stackBytes()
		if after > before-before/20 { // less than 5% smaller: done
			break
		}
		before = after
	}
	debug.FreeOSMemory()
}

// maxShrinks bounds Collect's collections: a stack of 64 KB that uses
// 2 KB is 8 KB after three.
const maxShrinks = 5

// stackBytes is the memory of the goroutines' stacks.
func stackBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// Calm is told that a gate is calm: it reclaims after Settle, unless told
// again meanwhile, and not before Every has passed since it last did.
func (r *Reclaim) Calm() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	wait := r.Settle
	if next := time.Until(r.last.Add(r.Every)); next > wait {
		wait = next
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(wait, r.run)
		return
	}
	r.timer.Reset(wait)
}

func (r *Reclaim) run() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.last = time.Now()
	free := r.Free
	r.mu.Unlock()
	if free == nil {
		free = Collect
	}
	free()
}

// Stop cancels a reclaim to come.
func (r *Reclaim) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}

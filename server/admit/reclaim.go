package admit

import (
	"runtime"
	"runtime/debug"
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

// Collect runs the collections that shrink stacks grown in a storm (each
// halves an oversized one) and returns the heap's free memory to the
// system.
func Collect() {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
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

package source

import (
	"sync"
	"time"
)

// views are what subscribers rendered of a snapshot, by view.
type views struct {
	mu sync.Mutex
	m  map[any]*view
}

// view is one rendering: made once, by the first subscriber that asks;
// the others wait for it and share it.
type view struct {
	once  sync.Once
	v     any
	until time.Time
}

// View returns what make renders of the snapshot for one view (key: the
// language, time zone, privacy setting and whatever else changes what is
// rendered). It is made once, by the first caller, however many
// subscribers ask: those who ask meanwhile wait for it (only they: no
// lock of the source or the snapshot is held while make runs). make
// renders the value at now and says until when that holds (zero: for as
// long as the snapshot); a caller at or after that time makes it again.
func View[T any, K comparable, V any](snap *Snapshot[T], key K, now time.Time, make func(value T, now time.Time) (V, time.Time)) V {
	for {
		snap.views.mu.Lock()
		if snap.views.m == nil {
			snap.views.m = map[any]*view{}
		}
		e := snap.views.m[key]
		if e == nil {
			e = &view{}
			snap.views.m[key] = e
		}
		snap.views.mu.Unlock()
		made := false
		e.once.Do(func() {
			made = true
			v, until := make(snap.Value, now)
			e.v, e.until = v, until
		})
		if made || e.until.IsZero() || now.Before(e.until) {
			v, _ := e.v.(V) // zero when make panicked
			return v
		}
		// Made for an earlier time, and what it shows has changed since
		// (a day has ended): the first caller makes it again.
		snap.views.mu.Lock()
		if snap.views.m[key] == e {
			delete(snap.views.m, key)
		}
		snap.views.mu.Unlock()
	}
}

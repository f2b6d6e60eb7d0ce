package source

import "sync"

// Member is a kind's own type for one source: the Source, and whatever
// else the kind keeps per source (an account, counts of its subscribers).
type Member[T any] interface {
	Source() *Source[T]
}

// Set runs the sources of one kind that have subscribers, by id. Its lock
// guards only which sources run: it is taken before a source's own lock,
// never after.
type Set[T any, M Member[T]] struct {
	rt *Runtime

	mu      sync.Mutex
	members map[string]M
}

// NewSet returns an empty set.
func NewSet[T any, M Member[T]](rt *Runtime) *Set[T, M] {
	return &Set[T, M]{rt: rt, members: map[string]M{}}
}

// Subscription is a subscriber's hold on a source.
type Subscription[T any, M Member[T]] struct {
	Member M
	// Latest is the source's latest snapshot when the subscriber joined:
	// the subscriber applies it itself.
	Latest *Snapshot[T]
	// Started is true when the subscription started the source.
	Started bool
	// Cancel stops telling the subscriber, and stops the source when it
	// was its last subscriber. It may be called more than once.
	Cancel func()
}

// Subscribe subscribes sub to the source id, which make starts (its first
// snapshot has make's Spec.Initial) when none runs. It reports false,
// subscribing nothing, once the process is stopping.
func (set *Set[T, M]) Subscribe(id string, make func() M, sub Subscriber[T]) (Subscription[T, M], bool) {
	set.mu.Lock()
	defer set.mu.Unlock()
	m, ok := set.members[id]
	started := false
	if !ok {
		m = make()
		src := m.Source()
		src.unlist = func(inner func()) {
			set.mu.Lock()
			defer set.mu.Unlock()
			if cur, ok := set.members[id]; ok && cur.Source() == src {
				delete(set.members, id)
			}
			inner()
		}
		if !src.start() {
			return Subscription[T, M]{}, false
		}
		set.members[id] = m
		started = true
	}
	src := m.Source()
	src.mu.Lock()
	e, latest := src.subscribeLocked(sub)
	src.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			set.mu.Lock()
			defer set.mu.Unlock()
			src.mu.Lock()
			defer src.mu.Unlock()
			if _, ok := src.subs[e]; !ok {
				return // stopped meanwhile
			}
			delete(src.subs, e)
			if len(src.subs) > 0 || src.stopped {
				return
			}
			if cur, ok := set.members[id]; ok && cur.Source() == src {
				delete(set.members, id)
			}
			src.stopLocked()
		})
	}
	return Subscription[T, M]{Member: m, Latest: latest, Started: started, Cancel: cancel}, true
}

// Get returns the running source id.
func (set *Set[T, M]) Get(id string) (M, bool) {
	set.mu.Lock()
	defer set.mu.Unlock()
	m, ok := set.members[id]
	return m, ok
}

// Len returns how many sources run.
func (set *Set[T, M]) Len() int {
	set.mu.Lock()
	defer set.mu.Unlock()
	return len(set.members)
}

// All returns the running sources.
func (set *Set[T, M]) All() []M {
	set.mu.Lock()
	defer set.mu.Unlock()
	out := make([]M, 0, len(set.members))
	for _, m := range set.members {
		out = append(out, m)
	}
	return out
}

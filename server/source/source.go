// Package source runs placard's data sources and tells their subscribers
// of each new snapshot.
//
// A source is something that changes and that many are told of: an
// account's day (its profile, calendar and presence) today; a room's
// calendar, a set of rooms' schedules or a set of people's presence next.
// Each source
//   - has its own lock, which guards its latest snapshot, its subscribers
//     and its lease, and is never held across slow work (a poll, an
//     encoding, the store, a connection, a subscriber);
//   - is owned by one replica at a time (a lease in server.Cluster): the
//     owner polls it (its kind's Poller, each poll on a goroutine that
//     ends with it, so that a poll's deep stack is not kept between polls)
//     and publishes each snapshot it makes to the other replicas, which
//     show those instead of polling;
//   - makes immutable Snapshots, numbered in order (Seq);
//   - tells its Subscribers of each snapshot outside its lock, one round
//     of notifications at a time, in order of Seq.
//
// A Snapshot never changes once made: what subscribers render of it for
// one view (a language, a time zone, a privacy setting) is made once, by
// View, and shared by every subscriber with that view.
//
// A Set keeps the sources of one kind that have subscribers, by id: the
// first subscriber starts a source, the last one to leave stops it.
//
// A new kind of source implements Poller (one poll as the owner, which
// publishes with Source.Update) and gives Spec its key, first value and
// codec; a type of its own holds the Source and whatever else the kind
// keeps per source (Member), and a Set of those runs them.
package source

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/placard/placard/server"
)

// Forever is the lease of a replica that runs alone: it never lapses.
var Forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Config is what every source of a process shares.
type Config struct {
	// Context ends every source when the process stops.
	Context context.Context
	// Cluster holds the leases and the published snapshots.
	Cluster server.Cluster
	Log     *slog.Logger
	// Go runs f on a goroutine that the process waits for when it stops.
	// It reports false, and does not run f, once stopping has begun.
	Go func(f func()) bool
	// Now is the clock of snapshots (Snapshot.At); time.Now when nil.
	Now func() time.Time
	// LeaseRenew is how often a lease is renewed, or tried for by a
	// replica that does not hold it: 3 s when zero.
	LeaseRenew time.Duration
	// After is the timer between two polls (and two reads of what an
	// owner published): time.After when nil. A test whose clock (Now)
	// runs faster than time gives timers that run as fast.
	After func(time.Duration) <-chan time.Time
}

// Runtime runs sources: it starts their goroutines and wakes them when
// another replica published a snapshot.
type Runtime struct {
	cfg Config

	mu      sync.Mutex
	running map[string]runner // by key
}

// runner is what the runtime knows of a running source.
type runner interface {
	Wake()
}

// NewRuntime returns a runtime.
func NewRuntime(cfg Config) *Runtime {
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LeaseRenew == 0 {
		cfg.LeaseRenew = 3 * time.Second
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Go == nil {
		cfg.Go = func(f func()) bool {
			go f()
			return true
		}
	}
	return &Runtime{cfg: cfg, running: map[string]runner{}}
}

// Wake has the source with this key read what its owner published, at
// once: another replica said it published a new snapshot.
func (rt *Runtime) Wake(key string) {
	rt.mu.Lock()
	r := rt.running[key]
	rt.mu.Unlock()
	if r != nil {
		r.Wake()
	}
}

// WakeAll wakes every source: word of changes may have been missed.
func (rt *Runtime) WakeAll() {
	rt.mu.Lock()
	all := make([]runner, 0, len(rt.running))
	for _, r := range rt.running {
		all = append(all, r)
	}
	rt.mu.Unlock()
	for _, r := range all {
		r.Wake()
	}
}

func (rt *Runtime) add(key string, r runner) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.running[key] = r
}

func (rt *Runtime) remove(key string, r runner) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.running[key] == r {
		delete(rt.running, key)
	}
}

// Poller reads one source as its owner.
type Poller interface {
	// Poll reads the source once, makes its next snapshot with
	// Source.Update, and returns how long to wait before the next poll
	// (Source.Wake cuts the wait short). It keeps to its budgets and
	// backs off on failures itself.
	Poll(ctx context.Context) time.Duration
}

// Spec is what makes a source.
type Spec[T any] struct {
	// Key names the source in the cluster (its lease, its published
	// snapshots), unique across kinds: "room:" and an address for a
	// room's calendar, for instance. An account's source has its
	// account's id.
	Key string
	// Initial is the value of the first snapshot, before any poll.
	Initial T
	// Own returns the Poller of a source this replica has just come to
	// own: a new owner reads everything again, so the poller's state
	// lives as long as the ownership.
	Own func() Poller
	// FollowEvery is how often a replica that does not own the source
	// reads what the owner published when no word of a change came.
	FollowEvery time.Duration
	// Encode makes what the owner publishes of a value; Decode reads it
	// on another replica, given the value it showed until then.
	Encode func(T) ([]byte, error)
	Decode func(old T, data []byte) (T, error)
	// Lease, when set, is told each time this replica gains or loses the
	// source's lease.
	Lease func(owned bool)
}

// Snapshot is one state of a source. It never changes once made: Value is
// shared by every subscriber and must not be modified.
type Snapshot[T any] struct {
	// Seq orders a source's snapshots in this process: a higher one is
	// newer.
	Seq uint64
	// At is when the snapshot was made (or received from its owner).
	At    time.Time
	Value T

	local bool // made here (Update), not received from the owner
	views views
}

// Subscriber is told of a source's snapshots.
type Subscriber[T any] interface {
	// Snapshot is called with each new snapshot, outside the source's
	// lock, one call at a time per source and in order of Seq. The
	// snapshot that Subscribe returned is applied by the subscriber's
	// own goroutine, perhaps at the same time as a newer one arrives
	// here: a subscriber ignores a snapshot older than one it applied.
	// It must not block for long: every subscriber of the source waits.
	Snapshot(*Snapshot[T])
}

// Source is one data source. Its lock guards its latest snapshot, its
// subscribers and its lease.
type Source[T any] struct {
	rt     *Runtime
	spec   Spec[T]
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	// unlist removes the source from its Set: it runs inner with the
	// set's lock held.
	unlist func(inner func())

	mu    sync.Mutex
	snap  *Snapshot[T]
	subs  map[*entry[T]]struct{}
	until time.Time // of the lease
	// holdOff is when this replica may take the lease again after it
	// gave it up because it cannot poll the source (GiveUp).
	holdOff time.Time
	// remote is the version of the owner's snapshot shown last.
	remote int64
	// A round of notifications or a publication runs in one goroutine
	// at a time, the one whose Update found none running; it goes on
	// until it has told (published) the latest snapshot.
	notifying, publishing bool
	told, published       uint64
	stopped               bool
}

// New returns a source of spec, to be started by a Set.
func New[T any](rt *Runtime, spec Spec[T]) *Source[T] {
	ctx, cancel := context.WithCancel(rt.cfg.Context)
	return &Source[T]{rt: rt, spec: spec, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1),
		snap: &Snapshot[T]{At: rt.cfg.Now(), Value: spec.Initial}, subs: map[*entry[T]]struct{}{}}
}

// Key is the source's key.
func (s *Source[T]) Key() string { return s.spec.Key }

// Latest returns the source's latest snapshot.
func (s *Source[T]) Latest() *Snapshot[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap
}

// Owns reports whether this replica owns the source now: only then may it
// poll it.
func (s *Source[T]) Owns() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ownsLocked()
}

func (s *Source[T]) ownsLocked() bool { return time.Now().Before(s.until) }

// Wake cuts the wait before the source's next poll (or its next reading
// of what its owner published) short.
func (s *Source[T]) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Update makes the source's next snapshot from the latest one's value: f
// returns the new value (sharing nothing mutable with the old one) and
// whether anything changed; f runs with the source's lock held and must be
// quick. The subscribers are told after, outside the lock, and when this
// replica owns the source the snapshot is published to the others.
func (s *Source[T]) Update(f func(T) (T, bool)) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	v, changed := f(s.snap.Value)
	if !changed {
		s.mu.Unlock()
		return
	}
	s.setLocked(v, true)
	notify, publish := s.claimLocked()
	s.mu.Unlock()
	s.flush(notify, publish)
}

// setLocked makes v the latest snapshot.
func (s *Source[T]) setLocked(v T, local bool) {
	s.snap = &Snapshot[T]{Seq: s.snap.Seq + 1, At: s.rt.cfg.Now(), Value: v, local: local}
}

// claimLocked reports whether the caller is to run the rounds of
// notification and publication, which no other goroutine runs now.
func (s *Source[T]) claimLocked() (notify, publish bool) {
	if !s.notifying {
		s.notifying, notify = true, true
	}
	// A replica alone (its lease never lapses) has nobody to publish to.
	if s.snap.local && !s.publishing && !s.until.Equal(Forever) {
		s.publishing, publish = true, true
	}
	return notify, publish
}

func (s *Source[T]) flush(notify, publish bool) {
	if notify {
		s.notify()
	}
	if publish {
		s.publish()
	}
}

// notify tells the subscribers of the latest snapshot, again until none
// newer came meanwhile.
func (s *Source[T]) notify() {
	var subs []Subscriber[T]
	for {
		s.mu.Lock()
		snap := s.snap
		if snap.Seq == s.told || s.stopped {
			s.notifying = false
			s.mu.Unlock()
			return
		}
		s.told = snap.Seq
		subs = subs[:0]
		for e := range s.subs {
			subs = append(subs, e.sub)
		}
		s.mu.Unlock()
		for _, sub := range subs {
			sub.Snapshot(snap)
		}
	}
}

// publish publishes the latest snapshot made here to the other replicas,
// again until none newer came meanwhile, while this replica owns the
// source.
func (s *Source[T]) publish() {
	for {
		s.mu.Lock()
		snap := s.snap
		if snap.Seq == s.published || !snap.local || !s.ownsLocked() || s.until.Equal(Forever) || s.stopped {
			s.published = snap.Seq
			s.publishing = false
			s.mu.Unlock()
			return
		}
		s.published = snap.Seq
		s.mu.Unlock()
		data, err := s.spec.Encode(snap.Value)
		if err != nil {
			s.rt.cfg.Log.Error("encoding a source's snapshot", "source", s.spec.Key, "err", err)
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		err = s.rt.cfg.Cluster.PublishSource(ctx, s.spec.Key, data)
		cancel()
		if err != nil && s.ctx.Err() == nil {
			s.rt.cfg.Log.Warn("publishing a source's snapshot to the other replicas", "source", s.spec.Key, "err", err)
		}
	}
}

// entry is one subscription: a subscriber may be any value, and may
// subscribe more than once.
type entry[T any] struct {
	sub Subscriber[T]
}

// subscribeLocked adds sub and returns its entry and the latest snapshot.
func (s *Source[T]) subscribeLocked(sub Subscriber[T]) (*entry[T], *Snapshot[T]) {
	e := &entry[T]{sub: sub}
	s.subs[e] = struct{}{}
	return e, s.snap
}

// Stop ends the source: it polls no more, tells nobody anything more, and
// gives its lease up. It returns the subscribers it had, for its kind to
// tell them why (an account whose session ended signs its screens out).
func (s *Source[T]) Stop() []Subscriber[T] {
	var subs []Subscriber[T]
	inner := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for e := range s.subs {
			subs = append(subs, e.sub)
		}
		clear(s.subs)
		s.stopLocked()
	}
	if s.unlist != nil {
		s.unlist(inner)
	} else {
		inner()
	}
	return subs
}

func (s *Source[T]) stopLocked() {
	s.stopped = true
	s.cancel()
}

// Context ends when the source stops.
func (s *Source[T]) Context() context.Context { return s.ctx }

// start runs the source's goroutine; false once the process is stopping.
func (s *Source[T]) start() bool {
	if !s.rt.cfg.Go(s.run) {
		s.cancel()
		return false
	}
	return true
}

// run polls the source while this replica owns it, and reads what its
// owner published while another does, until the source stops. It takes
// the lease first: on a replica alone the lease never lapses, and nothing
// else runs for it; otherwise a goroutine of its own renews it.
func (s *Source[T]) run() {
	s.rt.add(s.spec.Key, s)
	defer s.rt.remove(s.spec.Key, s)
	if s.renew() || !s.rt.cfg.Go(s.keepLease) {
		defer s.release()
	}
	select {
	case <-s.wake: // the lease just taken: the first poll comes now anyway
	default:
	}
	var p Poller
	for s.ctx.Err() == nil {
		var wait time.Duration
		if s.Owns() {
			if p == nil {
				p = s.spec.Own() // a new owner reads everything again
			}
			wait = pollApart(s.ctx, p)
		} else {
			p = nil
			s.follow()
			wait = s.spec.FollowEvery
		}
		select {
		case <-s.rt.cfg.After(wait):
		case <-s.wake:
		case <-s.ctx.Done():
			return
		}
	}
}

// pollApart runs a poll on a goroutine of its own, which ends with it. A
// poll's work (TLS, JSON, the store) grows a stack to tens of kilobytes,
// which the source's goroutine, parked between polls for as long as the
// source lives, would keep: a collection halves a parked stack at most,
// and the next poll grows it back. Ended, the stack is freed.
func pollApart(ctx context.Context, p Poller) time.Duration {
	done := make(chan time.Duration, 1)
	go func() { done <- p.Poll(ctx) }()
	return <-done
}

// renew takes or renews the lease, and reports whether it never lapses.
func (s *Source[T]) renew() (forever bool) {
	s.mu.Lock()
	off := time.Now().Before(s.holdOff)
	s.mu.Unlock()
	if off {
		return false // given up for a while: another replica may take it
	}
	// A renewal that cannot answer within LeaseRenew counts as failed:
	// the lease runs out on its own, and then this replica stops polling.
	ctx, cancel := context.WithTimeout(s.ctx, s.rt.cfg.LeaseRenew)
	until, err := s.rt.cfg.Cluster.Own(ctx, s.spec.Key)
	cancel()
	if s.ctx.Err() != nil {
		return false
	}
	if err != nil {
		s.rt.cfg.Log.Warn("renewing a source's lease", "source", s.spec.Key, "err", err)
	}
	s.mu.Lock()
	if time.Now().Before(s.holdOff) {
		// Given up while this renewal was on its way: what it took goes
		// back at once.
		s.mu.Unlock()
		if err == nil && !until.IsZero() {
			s.giveBack()
		}
		return false
	}
	had := s.ownsLocked()
	if err == nil {
		s.until = until
	}
	has := s.ownsLocked()
	s.mu.Unlock()
	if had != has {
		s.Wake()
		if s.spec.Lease != nil {
			s.spec.Lease(has)
		}
	}
	return err == nil && until.Equal(Forever)
}

// keepLease renews the lease every LeaseRenew until the source stops, then
// gives it up, so that another replica that needs the source takes it
// over at once.
func (s *Source[T]) keepLease() {
	defer s.release()
	t := time.NewTicker(s.rt.cfg.LeaseRenew)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.renew()
	}
}

func (s *Source[T]) release() {
	s.mu.Lock()
	had := s.ownsLocked()
	s.until = time.Time{}
	s.mu.Unlock()
	if had && s.spec.Lease != nil {
		s.spec.Lease(false)
	}
	s.giveBack()
}

// GiveUp gives the source's lease up at once, and takes it again no
// sooner than d from now: this replica cannot poll the source (it cannot
// open what the poll needs: an account's token cache sealed with another
// key, or damaged), and another replica that can takes it over
// meanwhile. This replica shows what the owner publishes, as any other
// does. It reports false, and keeps the lease, when the lease never
// lapses (a replica alone): there is nobody to take over.
func (s *Source[T]) GiveUp(d time.Duration) bool {
	s.mu.Lock()
	if s.until.Equal(Forever) {
		s.mu.Unlock()
		return false
	}
	s.holdOff = time.Now().Add(d)
	s.mu.Unlock()
	s.release()
	return true
}

// giveBack tells the cluster that this replica holds the lease no more.
func (s *Source[T]) giveBack() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 5*time.Second)
	defer cancel()
	if err := s.rt.cfg.Cluster.Release(ctx, s.spec.Key); err != nil {
		s.rt.cfg.Log.Warn("giving a source's lease up", "source", s.spec.Key, "err", err)
	}
}

// follow shows what the source's owner published last, when it is newer
// than what this replica shows.
func (s *Source[T]) follow() {
	data, version, err := s.rt.cfg.Cluster.SourceData(s.ctx, s.spec.Key)
	if server.IsNotFound(err) {
		return // its owner has not read it yet
	}
	if err != nil {
		if s.ctx.Err() == nil {
			s.rt.cfg.Log.Warn("reading a source's published snapshot", "source", s.spec.Key, "err", err)
		}
		return
	}
	s.mu.Lock()
	old, seen := s.snap.Value, version <= s.remote
	s.mu.Unlock()
	if seen {
		return
	}
	v, err := s.spec.Decode(old, data)
	if err != nil {
		s.rt.cfg.Log.Error("reading a source's published snapshot", "source", s.spec.Key, "err", err)
		return
	}
	s.mu.Lock()
	if s.stopped || s.ownsLocked() || version <= s.remote {
		// Taken over meanwhile (its own poll comes next), or shown
		// already.
		s.mu.Unlock()
		return
	}
	s.remote = version
	s.setLocked(v, false)
	notify, _ := s.claimLocked()
	s.mu.Unlock()
	s.flush(notify, false)
}

package source_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/source"
)

// cluster is the cluster of replicas in one process: leases with an
// expiry, published snapshots with their versions, and word of them.
type cluster struct {
	lease time.Duration

	mu       sync.Mutex
	leases   map[string]lease
	data     map[string]published
	replicas map[string]*source.Runtime
}

type lease struct {
	owner string
	until time.Time
}

type published struct {
	data    []byte
	version int64
}

func newCluster(ttl time.Duration) *cluster {
	return &cluster{lease: ttl, leases: map[string]lease{}, data: map[string]published{}, replicas: map[string]*source.Runtime{}}
}

// replica is one replica's view of the cluster.
type replica struct {
	c    *cluster
	name string
}

func (r replica) Own(_ context.Context, key string) (time.Time, error) {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	now := time.Now()
	if l, ok := r.c.leases[key]; ok && l.owner != r.name && now.Before(l.until) {
		return time.Time{}, nil
	}
	until := now.Add(r.c.lease)
	r.c.leases[key] = lease{r.name, until}
	return until, nil
}

func (r replica) Release(_ context.Context, key string) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if r.c.leases[key].owner == r.name {
		delete(r.c.leases, key)
	}
	return nil
}

func (r replica) PublishSource(_ context.Context, key string, data []byte) error {
	r.c.mu.Lock()
	if l := r.c.leases[key]; l.owner != r.name || !time.Now().Before(l.until) {
		r.c.mu.Unlock()
		return server.Errorf(server.ECONFLICT, "not the owner")
	}
	p := r.c.data[key]
	r.c.data[key] = published{data: data, version: p.version + 1}
	var others []*source.Runtime
	for name, rt := range r.c.replicas {
		if name != r.name {
			others = append(others, rt)
		}
	}
	r.c.mu.Unlock()
	for _, rt := range others {
		rt.Wake(key) // as Changes would deliver
	}
	return nil
}

func (r replica) SourceData(_ context.Context, key string) ([]byte, int64, error) {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	p, ok := r.c.data[key]
	if !ok {
		return nil, 0, server.ErrNotFound
	}
	return p.data, p.version, nil
}

func (r replica) PublishScreen(context.Context, string) error          { return nil }
func (r replica) PublishCommand(context.Context, string, []byte) error { return nil }
func (r replica) Changes(ctx context.Context) <-chan server.Change     { return nil }
func (r replica) AllowCode(context.Context, int, time.Duration) (bool, time.Time, error) {
	return true, time.Time{}, nil
}

// alone is a replica that runs by itself: its leases never lapse.
type alone struct{ replica }

func (alone) Own(context.Context, string) (time.Time, error)      { return source.Forever, nil }
func (alone) Release(context.Context, string) error               { return nil }
func (alone) PublishSource(context.Context, string, []byte) error { return nil }
func (alone) SourceData(context.Context, string) ([]byte, int64, error) {
	return nil, 0, server.ErrNotFound
}

// counter is a kind of source whose value is a number.
type counter struct {
	src *source.Source[int]
}

func (c *counter) Source() *source.Source[int] { return c.src }

func spec(key string, own func() source.Poller) source.Spec[int] {
	return source.Spec[int]{
		Key: key, Own: own, FollowEvery: time.Minute,
		Encode: func(v int) ([]byte, error) { return []byte(strconv.Itoa(v)), nil },
		Decode: func(_ int, b []byte) (int, error) { return strconv.Atoi(string(b)) },
	}
}

// pollFunc is a Poller.
type pollFunc func(ctx context.Context) time.Duration

func (f pollFunc) Poll(ctx context.Context) time.Duration { return f(ctx) }

// idle polls nothing.
func idle() source.Poller { return pollFunc(func(context.Context) time.Duration { return time.Hour }) }

// recorder is a subscriber that keeps what it was told.
type recorder struct {
	mu   sync.Mutex
	seqs []uint64
	vals []int
	bad  string
	// toldSeq is the latest snapshot told by the source (not applied
	// from Subscribe).
	toldSeq uint64
	told    chan struct{}
}

func newRecorder() *recorder { return &recorder{told: make(chan struct{}, 1)} }

func (r *recorder) Snapshot(s *source.Snapshot[int]) {
	r.mu.Lock()
	if s.Seq <= r.toldSeq {
		r.bad = fmt.Sprintf("told snapshot %d after %d", s.Seq, r.toldSeq)
	}
	r.toldSeq = s.Seq
	r.mu.Unlock()
	r.apply(s)
	select {
	case r.told <- struct{}{}:
	default:
	}
}

// apply keeps a snapshot unless it is older than one kept already, as a
// subscriber must (Subscribe's snapshot is applied by its own goroutine).
func (r *recorder) apply(s *source.Snapshot[int]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.seqs); n > 0 && s.Seq <= r.seqs[n-1] {
		return
	}
	if n := len(r.vals); n > 0 && s.Value < r.vals[n-1] {
		r.bad = fmt.Sprintf("value %d after %d", s.Value, r.vals[n-1])
	}
	r.seqs = append(r.seqs, s.Seq)
	r.vals = append(r.vals, s.Value)
}

func (r *recorder) last() (uint64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seqs) == 0 {
		return 0, 0
	}
	return r.seqs[len(r.seqs)-1], r.vals[len(r.vals)-1]
}

// Many goroutines update one source at once while subscribers come and
// go: every subscriber is told the snapshots in order, each newer than the
// one before, and ends with the last one.
func TestSubscribersAreToldSnapshotsInOrderWhateverGoroutinesUpdate(t *testing.T) {
	rt := source.NewRuntime(source.Config{Context: t.Context(), Cluster: alone{}})
	set := source.NewSet[int, *counter](rt)
	make := func() *counter { return &counter{src: source.New(rt, spec("count", idle))} }
	const writers, each, subscribers = 8, 200, 16
	var subs []*recorder
	var cancels []func()
	for range subscribers / 2 {
		r := newRecorder()
		s, ok := set.Subscribe("count", make, r)
		if !ok {
			t.Fatal("not subscribed")
		}
		r.apply(s.Latest)
		subs, cancels = append(subs, r), append(cancels, s.Cancel)
	}
	c, _ := set.Get("count")
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				c.src.Update(func(v int) (int, bool) { return v + 1, true })
			}
		})
	}
	// Half the subscribers join while the writers write.
	for range subscribers / 2 {
		r := newRecorder()
		s, ok := set.Subscribe("count", make, r)
		if !ok {
			t.Fatal("not subscribed")
		}
		r.apply(s.Latest)
		subs, cancels = append(subs, r), append(cancels, s.Cancel)
	}
	wg.Wait()
	latest := c.src.Latest()
	if latest.Value != writers*each {
		t.Fatalf("the latest value is %d after %d updates", latest.Value, writers*each)
	}
	for i, r := range subs {
		// The last snapshot may still be being told by the goroutine of
		// the last update: wait for it.
		for {
			if seq, _ := r.last(); seq == latest.Seq {
				break
			}
			select {
			case <-r.told:
			case <-time.After(10 * time.Second):
				seq, v := r.last()
				t.Fatalf("subscriber %d ended with snapshot %d (%d), not %d", i, seq, v, latest.Seq)
			}
		}
		r.mu.Lock()
		if r.bad != "" {
			t.Errorf("subscriber %d: %s", i, r.bad)
		}
		r.mu.Unlock()
	}
	for _, cancel := range cancels {
		cancel()
	}
	if set.Len() != 0 {
		t.Error("the source runs on after its last subscriber left")
	}
}

// A source's notifications never overlap: a subscriber is told one
// snapshot at a time, however many goroutines update.
func TestASourceTellsOneSnapshotAtATime(t *testing.T) {
	rt := source.NewRuntime(source.Config{Context: t.Context(), Cluster: alone{}})
	set := source.NewSet[int, *counter](rt)
	var inside, overlaps atomic.Int32
	sub := subscriberFunc(func(*source.Snapshot[int]) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(time.Microsecond) // widen the window
		inside.Add(-1)
	})
	s, _ := set.Subscribe("count", func() *counter { return &counter{src: source.New(rt, spec("count", idle))} }, sub)
	defer s.Cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				s.Member.src.Update(func(v int) (int, bool) { return v + 1, true })
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Errorf("a subscriber was told %d snapshots while it was being told another", n)
	}
}

type subscriberFunc func(*source.Snapshot[int])

func (f subscriberFunc) Snapshot(s *source.Snapshot[int]) { f(s) }

// One view of a snapshot is made once, however many subscribers ask for
// it at once.
func TestAViewIsMadeOnceForEverySubscriberThatAsks(t *testing.T) {
	snap := &source.Snapshot[int]{Seq: 1, Value: 7}
	var made atomic.Int32
	render := func(v int, _ time.Time) (string, time.Time) {
		made.Add(1)
		time.Sleep(time.Millisecond)
		return strconv.Itoa(v), time.Time{}
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got := source.View(snap, "fr", time.Now(), render); got != "7" {
				t.Errorf("view %q", got)
			}
		})
	}
	wg.Wait()
	if n := made.Load(); n != 1 {
		t.Errorf("one view made %d times", n)
	}
	source.View(snap, "en", time.Now(), render)
	if n := made.Load(); n != 2 {
		t.Errorf("another view was not made (%d)", n)
	}
}

// A view that holds until a time is made again after it.
func TestAViewIsMadeAgainOnceItNoLongerHolds(t *testing.T) {
	snap := &source.Snapshot[int]{Seq: 1, Value: 7}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	made := 0
	render := func(_ int, now time.Time) (time.Time, time.Time) {
		made++
		return now, now.Add(time.Hour)
	}
	first := source.View(snap, 0, at, render)
	if again := source.View(snap, 0, at.Add(59*time.Minute), render); again != first || made != 1 {
		t.Errorf("made again within the hour it holds (%d)", made)
	}
	if later := source.View(snap, 0, at.Add(time.Hour), render); later == first || made != 2 {
		t.Errorf("not made again once it no longer holds (%d)", made)
	}
}

// Two replicas show one source: the one that owns it polls and publishes,
// the other shows what was published, told at once; when the owner stops
// the source, the other takes it over at once and polls.
func TestAReplicaShowsWhatTheOwnerPublishedAndTakesOverWhenItStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(10 * time.Second)
		polls := map[string]*atomic.Int32{"a": {}, "b": {}}
		type rep struct {
			rt  *source.Runtime
			set *source.Set[int, *counter]
			rec *recorder
			sub source.Subscription[int, *counter]
		}
		start := func(name string) *rep {
			r := &rep{rec: newRecorder()}
			r.rt = source.NewRuntime(source.Config{Context: t.Context(), Cluster: replica{c, name}, LeaseRenew: time.Second})
			c.mu.Lock()
			c.replicas[name] = r.rt
			c.mu.Unlock()
			r.set = source.NewSet[int, *counter](r.rt)
			var src *source.Source[int]
			own := func() source.Poller {
				return pollFunc(func(context.Context) time.Duration {
					polls[name].Add(1)
					src.Update(func(v int) (int, bool) { return v + 1, true })
					return 5 * time.Second
				})
			}
			s, ok := r.set.Subscribe("room:lobby", func() *counter {
				src = source.New(r.rt, spec("room:lobby", own))
				return &counter{src: src}
			}, r.rec)
			if !ok {
				t.Fatal("not subscribed")
			}
			r.sub = s
			return r
		}
		a := start("a")
		synctest.Wait()
		b := start("b")
		time.Sleep(12 * time.Second) // two more polls by a
		synctest.Wait()
		if n := polls["b"].Load(); n != 0 {
			t.Errorf("the replica that does not own the source polled it %d times", n)
		}
		_, va := a.rec.last()
		_, vb := b.rec.last()
		if va < 3 || vb != va {
			t.Errorf("the owner is at %d, the other replica shows %d", va, vb)
		}
		// The owner's last subscriber leaves: it gives the lease up, and
		// the other replica polls at its next renewal, not after the
		// lease would have lapsed.
		a.sub.Cancel()
		synctest.Wait()
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if n := polls["b"].Load(); n != 1 {
			t.Errorf("%d polls by the replica left, a second after the owner let go", n)
		}
		if _, v := b.rec.last(); v != va+1 {
			t.Errorf("the new owner shows %d, want one more than %d: it goes on from what was published", v, va)
		}
		b.sub.Cancel()
		synctest.Wait()
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.leases) != 0 {
			t.Errorf("leases held after every source stopped: %v", c.leases)
		}
	})
}

// A stopped source tells its subscribers nothing more, and says who they
// were, for its kind to tell them why.
func TestStopReturnsTheSubscribersAndEndsTheSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := source.NewRuntime(source.Config{Context: t.Context(), Cluster: alone{}})
		set := source.NewSet[int, *counter](rt)
		r1, r2 := newRecorder(), newRecorder()
		mk := func() *counter { return &counter{src: source.New(rt, spec("count", idle))} }
		s1, _ := set.Subscribe("count", mk, r1)
		s2, _ := set.Subscribe("count", mk, r2)
		if !s1.Started || s2.Started || s1.Member != s2.Member {
			t.Fatal("the second subscriber did not join the running source")
		}
		subs := s1.Member.src.Stop()
		if len(subs) != 2 {
			t.Errorf("Stop returned %d subscribers, want 2", len(subs))
		}
		synctest.Wait()
		if set.Len() != 0 {
			t.Error("a stopped source is still in its set")
		}
		s1.Member.src.Update(func(v int) (int, bool) { return v + 1, true })
		if seq, _ := r1.last(); seq != 0 {
			t.Error("a stopped source told a subscriber of a snapshot")
		}
		s1.Cancel() // after Stop: nothing to do
		s3, _ := set.Subscribe("count", mk, r1)
		if !s3.Started || s3.Member == s1.Member {
			t.Error("a subscriber after Stop joined the stopped source")
		}
		s3.Cancel()
	})
}

// A poll's deep work (TLS, JSON, the store) must not stay on the stack of
// the source's goroutine, parked between polls for as long as the source
// lives: each poll runs on a goroutine that ends with it.
func TestEachPollRunsOnAGoroutineThatEndsWithIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := source.NewRuntime(source.Config{Context: t.Context(), Cluster: alone{}})
		set := source.NewSet[int, *counter](rt)
		stacks := make(chan string, 2)
		poll := pollFunc(func(context.Context) time.Duration {
			buf := make([]byte, 64<<10)
			stacks <- string(buf[:runtime.Stack(buf, false)])
			return time.Minute
		})
		mk := func() *counter {
			return &counter{src: source.New(rt, spec("count", func() source.Poller { return poll }))}
		}
		s, _ := set.Subscribe("count", mk, newRecorder())
		defer s.Member.src.Stop()
		for range 2 {
			st := <-stacks
			if strings.Contains(st, "(*Source[...]).run(") {
				t.Fatalf("a poll ran on the source's own goroutine:\n%s", st)
			}
			time.Sleep(time.Minute)
		}
	})
}

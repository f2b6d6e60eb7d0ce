package screens

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/source"
)

// An account's source serves subscribers: the screens that show its
// account (shown) and whatever else follows the account's presence
// (following: light keys). The poll, its period and its budget belong to
// the source; how each subscriber is told belongs to the subscriber.

// Follower is told of an account's presence: once when it starts
// following, then on each change. Presence is called outside any lock of
// the account's source, but must not block (keep the value, wake a
// goroutine): the account's other followers and screens wait for it.
type Follower interface {
	Presence(server.Presence)
}

// Presence values when Graph says nothing of an account.
const presenceUnknown = "PresenceUnknown"

// Defaults of the presence budget.
const (
	// DefaultFollowEvery is how often a followed account's presence is
	// read, budget allowing (PresenceLight's default).
	DefaultFollowEvery = 5 * time.Second
	// DefaultPresenceBudget is Graph's presence limit for one app in one
	// tenant, as its older pages give it (the current one says 10,000):
	// placard uses half of it.
	DefaultPresenceBudget = 1500
)

// followed is one follower of an account, by its id (tenant and object
// id: a UPN is unique within a tenant only), whether or not the account
// is signed in now. Its lock guards its fields.
type followed struct {
	f  Follower
	id string

	mu sync.Mutex
	// sub is its subscription to the account's source, nil while the
	// account is signed in nowhere; seq is the latest snapshot applied.
	sub *following
	seq uint64
	// told is what it was told last (told is valid once any is true).
	told server.Presence
	any  bool
	// room is true when the account is a room's (roomlight.go): it is
	// told the room's status, turn tells it again when that changes with
	// the clock.
	room bool
	turn *time.Timer
}

// tellLocked tells the follower p, unless it was told that already.
func (fo *followed) tellLocked(p server.Presence) {
	if fo.any && p == fo.told {
		return
	}
	fo.told, fo.any = p, true
	fo.f.Presence(p)
}

// following is a follower's subscription to one account's source.
type following struct {
	fo     *followed
	w      *watch
	cancel func()
}

// Snapshot tells the follower of the account's presence in the snapshot.
func (sub *following) Snapshot(snap *source.Snapshot[*accountData]) {
	fo := sub.fo
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if fo.sub != sub || snap.Seq <= fo.seq {
		return
	}
	fo.seq = snap.Seq
	if fo.room {
		sub.w.m.tellRoomLocked(fo, sub, snap.Value)
		return
	}
	fo.tellLocked(owned(snap.Value.follow, sub.w))
}

// owned is p as this replica tells it: owned when it holds the lease of
// the account's source.
func owned(p server.Presence, w *watch) server.Presence {
	p.Owned = w.src.Owns()
	return p
}

// leased tells the followers of an account whose lease this replica
// gained or lost: the owner alone sends their webhooks and MQTT messages.
func (m *Manager) leased(w *watch, owns bool) {
	m.followMu.Lock()
	defer m.followMu.Unlock()
	for _, fo := range m.followers {
		fo.mu.Lock()
		if fo.sub != nil && fo.sub.w == w && fo.any {
			p := fo.told
			p.Owned = owns
			fo.tellLocked(p)
		}
		fo.mu.Unlock()
	}
}

// Follow makes f follow the presence of the account whose id (MSAL's
// home account id, "<oid>.<tid>") is accountID until stop is called. While it is followed and signed in on some screen,
// the account's source runs (with no screen showing it, too) and reads its
// presence every FollowEvery, budget allowing. An account signed in
// nowhere is told as SignedIn false, and followed again when it signs in.
func (m *Manager) Follow(ctx context.Context, accountID string, f Follower) (stop func(), err error) {
	acct, found, err := m.signedInAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	room, err := m.isRoom(ctx, accountID)
	if err != nil {
		return nil, err
	}
	fo := &followed{f: f, id: accountID, room: room}
	m.followMu.Lock()
	defer m.followMu.Unlock()
	m.followers[f] = fo
	fo.mu.Lock()
	started := false
	if found {
		started = m.subscribeLocked(fo, acct)
	}
	if fo.sub == nil {
		fo.tellLocked(signedOut(m.cfg.Now()))
	}
	fo.mu.Unlock()
	if started {
		m.adoptLocked(acct)
	}
	var once sync.Once
	return func() { once.Do(func() { m.unfollow(f) }) }, nil
}

// subscribeLocked subscribes a follower to the account's source, starting
// it when nothing else shows or follows the account, and tells it the
// account's presence. It reports whether it started the source. The
// follower's lock and followMu are held.
func (m *Manager) subscribeLocked(fo *followed, acct server.Account) (started bool) {
	sub := &following{fo: fo}
	s, ok := m.accounts.Subscribe(acct.ID, func() *watch {
		// Followed from its first poll on, which paces it as such.
		w := m.newWatch(acct)
		w.followed.Store(1)
		return w
	}, sub)
	if !ok {
		return false // the server is stopping
	}
	sub.w, sub.cancel = s.Member, s.Cancel
	fo.sub, fo.seq = sub, s.Latest.Seq
	switch {
	case s.Started:
		m.nFollowed.Add(1)
	case s.Member.followed.Add(1) == 1:
		m.nFollowed.Add(1)
		s.Member.src.Wake() // its pace is now a follower's
	}
	if fo.room {
		// A room's light needs the room's calendar, as its panel does.
		if s.Member.shown.Add(1) == 1 && !s.Started {
			s.Member.src.Wake()
		}
		m.tellRoomLocked(fo, sub, s.Latest.Value)
		return s.Started
	}
	fo.tellLocked(owned(s.Latest.Value.follow, s.Member))
	return s.Started
}

// unsubscribeLocked ends a follower's subscription, if it has one, and
// returns it: the caller cancels it (when its source still runs) outside
// the follower's lock.
func (m *Manager) unsubscribeLocked(fo *followed) *following {
	sub := fo.sub
	if sub == nil {
		return nil
	}
	fo.sub = nil
	if sub.w.followed.Add(-1) == 0 {
		m.nFollowed.Add(-1)
	}
	if fo.room {
		sub.w.shown.Add(-1)
		if fo.turn != nil {
			fo.turn.Stop()
			fo.turn = nil
		}
	}
	return sub
}

// adopt has the followers that wait for an account to sign in follow its
// source, which has just started.
func (m *Manager) adopt(w *watch) {
	m.followMu.Lock()
	defer m.followMu.Unlock()
	m.adoptLocked(w.account)
}

func (m *Manager) adoptLocked(acct server.Account) {
	for _, fo := range m.followers {
		if fo.id != acct.ID {
			continue
		}
		fo.mu.Lock()
		if fo.sub == nil {
			m.subscribeLocked(fo, acct)
		}
		fo.mu.Unlock()
	}
}

func (m *Manager) unfollow(f Follower) {
	m.followMu.Lock()
	defer m.followMu.Unlock()
	fo := m.followers[f]
	if fo == nil {
		return
	}
	delete(m.followers, f)
	fo.mu.Lock()
	sub := m.unsubscribeLocked(fo)
	fo.mu.Unlock()
	if sub != nil {
		sub.cancel()
	}
}

// unfollowAccount tells the followers of an account signed out everywhere
// so; they stay, waiting for it to sign in again. Its source stops unless
// a screen still shows it (on its way to sign-in).
func (m *Manager) unfollowAccount(accountID string) {
	w, ok := m.accounts.Get(accountID)
	if !ok {
		return
	}
	m.followMu.Lock()
	defer m.followMu.Unlock()
	// A room's light counts among those that show the room's calendar
	// (roomlight.go): a screen still shows the account only beyond them.
	rooms := int32(0)
	for _, fo := range m.followers {
		fo.mu.Lock()
		if fo.room && fo.sub != nil && fo.sub.w == w {
			rooms++
		}
		fo.mu.Unlock()
	}
	if w.shown.Load() > rooms {
		return
	}
	now := m.cfg.Now()
	for _, fo := range m.followers {
		fo.mu.Lock()
		var sub *following
		if fo.sub != nil && fo.sub.w == w {
			sub = m.unsubscribeLocked(fo)
			fo.tellLocked(signedOutAfter(fo, now))
		}
		fo.mu.Unlock()
		if sub != nil {
			sub.cancel()
		}
	}
}

// endFollowing tells a follower of an account whose session ended that it
// is signed in nowhere; its source has stopped.
func (m *Manager) endFollowing(sub *following) {
	fo := sub.fo
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if fo.sub != sub {
		return
	}
	m.unsubscribeLocked(fo)
	fo.tellLocked(signedOutAfter(fo, m.cfg.Now()))
}

// signedOutAfter is what a follower of an account whose source ended is
// told: signed out, owned where the source was (that replica tells the
// light).
func signedOutAfter(fo *followed, now time.Time) server.Presence {
	p := signedOut(now)
	p.Owned = fo.any && fo.told.Owned
	return p
}

// signedOut is what followers of an account signed in nowhere are told.
func signedOut(now time.Time) server.Presence {
	return server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Updated: now}
}

// signedInAccount finds the account id among those shown on screens: an
// account signed out of its last screen is forgotten (tokens and all).
func (m *Manager) signedInAccount(ctx context.Context, id string) (server.Account, bool, error) {
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		return server.Account{}, false, fmt.Errorf("screens: finding the account %s: %w", id, err)
	}
	for _, sc := range all {
		if sc.AccountID != id || id == "" {
			continue
		}
		a, err := m.cfg.Store.Account(ctx, id)
		if server.IsNotFound(err) {
			return server.Account{}, false, nil
		}
		if err != nil {
			return server.Account{}, false, fmt.Errorf("screens: finding the account %s: %w", id, err)
		}
		return a, true, nil
	}
	return server.Account{}, false, nil
}

// pace spreads the presence requests of every source over the tenant's
// budget: followed accounts are read every FollowEvery and shown ones
// every PollEvery while the budget allows; beyond it their periods
// stretch evenly, and a 429 from Graph stretches them further for a while.
// A gate holds every poll to the budget whatever the periods say.
type pace struct {
	follow, show time.Duration
	budget       limit.Rate // what placard uses: half of Graph's limit
	gate         *limit.Limiter
	// now and after are the gate's clock and timers: the manager's.
	now   func() time.Time
	after func(time.Duration) <-chan time.Time

	mu        sync.Mutex
	slowdown  int // 1, doubled by each 429, up to maxSlowdown
	calmUntil time.Time
}

const maxSlowdown = 8

func newPace(cfg Config) *pace {
	b := limit.Rate{Max: max(cfg.PresenceBudget.Max/2, 1), Per: cfg.PresenceBudget.Per}
	now, after := cfg.Now, cfg.After
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	return &pace{follow: cfg.FollowEvery, show: cfg.PollEvery, budget: b, gate: limit.New(b, now), now: now, after: after, slowdown: 1}
}

// period is how long a source waits between polls, given how many
// accounts are followed and how many are only shown.
func (p *pace) period(followed bool, nFollowed, nShown int, now time.Time) time.Duration {
	rate := float64(p.budget.Max) / p.budget.Per.Seconds() // requests per second
	fast, slow := p.follow, p.show
	demand := float64(nFollowed)/fast.Seconds() + float64(nShown)/slow.Seconds()
	if demand > rate {
		// Followed accounts give way first, down to the pace of shown
		// ones; then all stretch alike.
		if left := rate - float64(nShown)/slow.Seconds(); left > 0 && float64(nFollowed)/left <= slow.Seconds() {
			fast = time.Duration(float64(nFollowed) / left * float64(time.Second))
		} else {
			fast = time.Duration(float64(nFollowed+nShown) / rate * float64(time.Second))
			slow = fast
		}
	}
	p.mu.Lock()
	if p.slowdown > 1 && now.After(p.calmUntil) {
		p.slowdown /= 2
		p.calmUntil = now.Add(p.budget.Per)
	}
	k := time.Duration(p.slowdown)
	p.mu.Unlock()
	if followed {
		return fast * k
	}
	return slow * k
}

// throttled records a 429 from Graph.
func (p *pace) throttled(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slowdown = min(p.slowdown*2, maxSlowdown)
	p.calmUntil = now.Add(2 * p.budget.Per)
}

// await waits until the budget allows one more presence request, or ctx
// ends.
func (p *pace) await(ctx context.Context) bool {
	for {
		ok, retry := p.gate.Allow("presence")
		if ok {
			return true
		}
		select {
		case <-p.after(retry.Sub(p.now())):
		case <-ctx.Done():
			return false
		}
	}
}

// period is the wait before the next poll of an account's source.
func (m *Manager) period(w *watch) time.Duration {
	nFollowed := int(m.nFollowed.Load())
	// People boards read presence as often as a shown account.
	nShown := max(m.accounts.Len()-nFollowed, 0) + m.peopleBoards.Len()
	return m.pace.period(w.followed.Load() > 0, nFollowed, nShown, m.cfg.Now())
}

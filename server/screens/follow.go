package screens

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
)

// A watch serves followers: the screens that show its account (sessions)
// and whatever else follows the account's presence (light keys). The poll,
// its period and its budget belong to the watch; how each follower is told
// belongs to the follower.

// Follower is told of an account's presence by the account's watch: once
// when it starts following, then on each change. Presence is called with
// the manager's lock held: it must not block (keep the value, wake a
// goroutine).
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

// Follow makes f follow the presence of the account whose UPN is upn
// until stop is called. While it is followed and signed in on some screen,
// the account's watch runs (with no screen showing it, too) and reads its
// presence every FollowEvery, budget allowing. An account signed in
// nowhere is told as SignedIn false, and followed again when it signs in.
func (m *Manager) Follow(ctx context.Context, upn string, f Follower) (stop func(), err error) {
	upn = strings.ToLower(strings.TrimSpace(upn))
	acct, found, err := m.signedInAccount(ctx, upn)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.followers[f] = upn
	w := m.watchOfLocked(upn)
	if w == nil && found {
		w = m.startWatchLocked(acct)
	}
	if w != nil {
		if len(w.followers) == 0 {
			w.wakeUp() // its pace is now a follower's
		}
		w.followers[f] = true
		f.Presence(w.presence)
	} else {
		f.Presence(signedOut(m.cfg.Now()))
	}
	var once sync.Once
	return func() { once.Do(func() { m.unfollow(f) }) }, nil
}

func (m *Manager) unfollow(f Follower) {
	m.mu.Lock()
	defer m.mu.Unlock()
	upn := m.followers[f]
	delete(m.followers, f)
	if w := m.watchOfLocked(upn); w != nil {
		delete(w.followers, f)
		m.stopIfUnusedLocked(w)
	}
}

// signedOut is what followers of an account signed in nowhere are told.
func signedOut(now time.Time) server.Presence {
	return server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Updated: now}
}

// signedInAccount finds the account upn among those shown on screens: an
// account signed out of its last screen is forgotten (tokens and all).
func (m *Manager) signedInAccount(ctx context.Context, upn string) (server.Account, bool, error) {
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		return server.Account{}, false, fmt.Errorf("screens: finding the account %s: %w", upn, err)
	}
	seen := map[string]bool{}
	for _, sc := range all {
		if sc.AccountID == "" || seen[sc.AccountID] {
			continue
		}
		seen[sc.AccountID] = true
		a, err := m.cfg.Store.Account(ctx, sc.AccountID)
		if server.IsNotFound(err) {
			continue
		}
		if err != nil {
			return server.Account{}, false, fmt.Errorf("screens: finding the account %s: %w", upn, err)
		}
		if strings.EqualFold(a.Username, upn) {
			return a, true, nil
		}
	}
	return server.Account{}, false, nil
}

// watchOfLocked returns the watch of the account upn, or nil.
func (m *Manager) watchOfLocked(upn string) *watch {
	for _, w := range m.watches {
		if strings.EqualFold(w.account.Username, upn) {
			return w
		}
	}
	return nil
}

// followLocked gives a new watch the followers that wait for its account.
func (m *Manager) followLocked(w *watch) {
	for f, upn := range m.followers {
		if strings.EqualFold(w.account.Username, upn) {
			w.followers[f] = true
			f.Presence(w.presence)
		}
	}
}

// unfollowLocked tells a watch's followers that its account is signed in
// nowhere any more; they stay, waiting for it to sign in again.
func (m *Manager) unfollowLocked(w *watch) {
	p := signedOut(m.cfg.Now())
	for f := range w.followers {
		f.Presence(p)
	}
	w.followers = map[Follower]bool{}
}

// stopIfUnusedLocked stops a watch that nothing follows any more.
func (m *Manager) stopIfUnusedLocked(w *watch) {
	if len(w.sessions) > 0 || len(w.followers) > 0 {
		return
	}
	w.cancel()
	if m.watches[w.account.ID] == w {
		delete(m.watches, w.account.ID)
	}
}

// tellLocked tells the watch's followers its presence, when it changed.
func (m *Manager) tellLocked(w *watch) {
	// Stale until Graph first answered, and while it does not.
	p := server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Stale: w.data.stale || w.data.fresh.IsZero(), SignedIn: true}
	if pr := w.data.presence; pr != nil {
		p.Availability, p.Activity = pr.Availability, pr.Activity
	}
	if p.Same(w.presence) {
		return
	}
	p.Updated = m.cfg.Now()
	w.presence = p
	for f := range w.followers {
		f.Presence(p)
	}
}

// pace spreads the presence requests of every watch over the tenant's
// budget: followed accounts are read every FollowEvery and shown ones
// every PollEvery while the budget allows; beyond it their periods
// stretch evenly, and a 429 from Graph stretches them further for a while.
// A gate holds every poll to the budget whatever the periods say.
type pace struct {
	follow, show time.Duration
	budget       limit.Rate // what placard uses: half of Graph's limit
	gate         *limit.Limiter

	mu        sync.Mutex
	slowdown  int // 1, doubled by each 429, up to maxSlowdown
	calmUntil time.Time
}

const maxSlowdown = 8

func newPace(cfg Config) *pace {
	b := limit.Rate{Max: max(cfg.PresenceBudget.Max/2, 1), Per: cfg.PresenceBudget.Per}
	return &pace{follow: cfg.FollowEvery, show: cfg.PollEvery, budget: b, gate: limit.New(b, nil), slowdown: 1}
}

// period is how long a watch waits between polls, given how many watches
// are followed and how many are only shown.
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
		if !sleep(ctx, time.Until(retry)) {
			return false
		}
	}
}

// periodLocked is the wait before the watch's next poll.
func (m *Manager) periodLocked(w *watch) time.Duration {
	var nFollowed, nShown int
	for _, o := range m.watches {
		if len(o.followers) > 0 {
			nFollowed++
		} else {
			nShown++
		}
	}
	return m.pace.period(len(w.followers) > 0, nFollowed, nShown, time.Now())
}

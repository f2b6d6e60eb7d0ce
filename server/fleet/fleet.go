// Package fleet keeps the whole fleet of screens in view across replicas:
// what each replica says of the screens it serves (connected or not, what
// they show, their app and browser) goes into the store, each replica
// says it is alive every few seconds, and any replica reads the whole
// fleet from there, not from its own memory. One replica at a time (the
// owner of a lease, as for an account) reports the screens offline for
// longer than their group's threshold: on the admin page, in the gauge
// placard_screens_offline, and to the group's webhooks, signed as the
// light keys' are (Standard Webhooks), with another when the screen comes
// back.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// Defaults.
const (
	// DefaultEvery is how often a replica says it is alive and checks for
	// offline screens.
	DefaultEvery = 5 * time.Second
	// DefaultOfflineAfter is the threshold of a screen whose group has
	// none (or that is in no group), as Yodeck's shortest is 30 minutes
	// and most lobby screens are noticed within the quarter hour.
	DefaultOfflineAfter = 15 * time.Minute
)

// SecretLabel is what a group's sealed webhook secret is bound to: the
// group's id, so that a secret moved to another group's row does not open.
func SecretLabel(groupID string) string { return "group-webhook-secret:" + groupID }

// alertsLease names the lease of the replica that sends offline alerts.
const alertsLease = "fleet:offline-alerts"

// Config is what a Fleet needs.
type Config struct {
	Store server.Store
	// Cluster, when the edge server has replicas, decides which one sends
	// the alerts (nil: this one, alone).
	Cluster server.Cluster
	// Replica names this replica in the store (its host name when alone).
	Replica string
	Log     *slog.Logger
	Now     func() time.Time
	// Every is how often the replica says it is alive and checks for
	// offline screens (DefaultEvery when zero); a replica not heard of for
	// three times as long is gone, and so are its screens.
	Every time.Duration
	// OfflineAfter is the threshold of screens whose group has none
	// (DefaultOfflineAfter when zero).
	OfflineAfter time.Duration
	// Webhooks sends the alerts.
	Webhooks WebhookConfig
	// Box opens the groups' webhook secrets, sealed with the server's key
	// (SecretLabel).
	Box *secret.Box
	// Metrics gets the number of screens offline past their threshold;
	// nil for none.
	Metrics interface{ ScreensOffline(int) }
}

// Fleet records what this replica says of its screens and reports the
// screens that are offline.
type Fleet struct {
	cfg   Config
	log   *slog.Logger
	start time.Time

	// lastCheck is when the background loop last checked the fleet (its
	// own).
	lastCheck time.Time

	mu      sync.Mutex
	conns   map[string]int                        // open connections per screen here
	pending map[string]func(*server.ScreenStatus) // changes to write, by screen
	wake    chan struct{}
	// flushing is held while queued changes are written: a Flush waits
	// for the background writer's round under way (what it took is not
	// written yet), and a screen's changes are written in their order.
	flushing sync.Mutex

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a fleet; Start runs it.
func New(cfg Config) *Fleet {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Every == 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.OfflineAfter == 0 {
		cfg.OfflineAfter = DefaultOfflineAfter
	}
	cfg.Webhooks.defaults()
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Fleet{cfg: cfg, log: log, start: cfg.Now(), conns: map[string]int{}, pending: map[string]func(*server.ScreenStatus){},
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

// Replica names this replica.
func (f *Fleet) Replica() string { return f.cfg.Replica }

// Start says this replica is alive, forgets what it said of its screens
// before a restart (none is connected to it yet), and runs in the
// background until Close.
func (f *Fleet) Start(ctx context.Context) error {
	if err := f.alive(ctx); err != nil {
		return fmt.Errorf("fleet: saying this replica is alive: %w", err)
	}
	all, err := f.cfg.Store.ScreenStatuses(ctx)
	if err != nil {
		return fmt.Errorf("fleet: reading the screens' statuses: %w", err)
	}
	now := f.cfg.Now()
	for _, st := range all {
		if st.Replica != f.cfg.Replica || !st.Connected {
			continue
		}
		if _, err := f.cfg.Store.UpdateScreenStatus(ctx, st.ScreenID, func(st *server.ScreenStatus) error {
			if st.Replica == f.cfg.Replica && st.Connected {
				st.Connected, st.Since = false, now
			}
			return nil
		}); err != nil && !server.IsNotFound(err) {
			return fmt.Errorf("fleet: resetting screen %s: %w", st.ScreenID, err)
		}
	}
	f.wg.Add(2)
	go f.writeLoop()
	go f.tickLoop()
	return nil
}

// Close stops the fleet, writing what is pending, and says this replica's
// screens are gone.
func (f *Fleet) Close() {
	f.cancel()
	f.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.mu.Lock()
	ids := make([]string, 0, len(f.conns))
	for id := range f.conns {
		ids = append(ids, id)
	}
	f.conns = map[string]int{}
	f.mu.Unlock()
	now := f.cfg.Now()
	for _, id := range ids {
		f.cfg.Store.UpdateScreenStatus(ctx, id, func(st *server.ScreenStatus) error {
			if st.Replica == f.cfg.Replica {
				st.Connected, st.Since = false, now
			}
			return nil
		})
	}
}

func (f *Fleet) alive(ctx context.Context) error {
	return f.cfg.Store.PutReplica(ctx, server.Replica{Name: f.cfg.Replica, Seen: f.cfg.Now(), StartedAt: f.start})
}

// Conn is what a browser says of itself when it connects.
type Conn struct {
	// AppVersion is the version of the app it runs.
	AppVersion string
	// UserAgent is its User-Agent header, read for its family only.
	UserAgent string
	// Touch: it says it has a touch screen.
	Touch bool
}

// Connected records a connection of a screen to this replica.
func (f *Fleet) Connected(screenID string, c Conn) {
	f.mu.Lock()
	f.conns[screenID]++
	first := f.conns[screenID] == 1
	f.mu.Unlock()
	now := f.cfg.Now()
	browser := BrowserFamily(c.UserAgent)
	f.queue(screenID, func(st *server.ScreenStatus) {
		if first || st.Replica != f.cfg.Replica || !st.Connected {
			st.Since = now
		}
		st.Replica, st.Connected, st.AppVersion, st.Browser, st.Touch = f.cfg.Replica, true, c.AppVersion, browser, c.Touch
	})
}

// Disconnected records that a connection of a screen to this replica
// ended; the screen is offline when it was its last.
func (f *Fleet) Disconnected(screenID string) {
	f.mu.Lock()
	f.conns[screenID]--
	last := f.conns[screenID] <= 0
	if last {
		delete(f.conns, screenID)
	}
	f.mu.Unlock()
	if !last {
		return
	}
	now := f.cfg.Now()
	f.queue(screenID, func(st *server.ScreenStatus) {
		if st.Replica == f.cfg.Replica {
			st.Connected, st.Since = false, now
		}
	})
}

// PageSeen records a screen's page served to a browser that will load it
// again within every (one without WebAssembly, which holds no
// connection): it is online until then, with some slack.
func (f *Fleet) PageSeen(screenID string, c Conn, every time.Duration) {
	now := f.cfg.Now()
	browser := BrowserFamily(c.UserAgent)
	f.queue(screenID, func(st *server.ScreenStatus) {
		if !f.onlineLocked(*st, now) {
			st.Since = now
		}
		if !st.Connected {
			st.Replica = f.cfg.Replica
		}
		st.OnlineUntil = now.Add(every*2 + f.cfg.Every)
		st.Browser, st.Touch = browser, c.Touch
		if c.AppVersion != "" {
			st.AppVersion = c.AppVersion
		}
	})
}

// onlineLocked is a rough "online" for a status being written here: its
// connection, or its page's due reload.
func (f *Fleet) onlineLocked(st server.ScreenStatus, now time.Time) bool {
	return st.Connected || now.Before(st.OnlineUntil)
}

// Showing records what a screen served here shows: its phase ("code",
// "dashboard", ...) and the account, as a UPN ("" for none).
func (f *Fleet) Showing(screenID, phase, account string) {
	f.queue(screenID, func(st *server.ScreenStatus) {
		st.Phase, st.Shows = phase, account
	})
}

// Forget drops what is known of a screen (revoked).
func (f *Fleet) Forget(ctx context.Context, screenID string) {
	f.mu.Lock()
	delete(f.pending, screenID)
	f.mu.Unlock()
	if err := f.cfg.Store.DeleteScreenStatus(ctx, screenID); err != nil && !server.IsNotFound(err) {
		f.log.Warn("forgetting a screen's status", "screen", screenID, "err", err)
	}
}

// queue adds a change of a screen's status, written in the background:
// whoever calls (a connection's goroutine, a session) never waits on the
// store. Changes of one screen are applied in order.
func (f *Fleet) queue(screenID string, change func(*server.ScreenStatus)) {
	f.mu.Lock()
	if prev := f.pending[screenID]; prev != nil {
		f.pending[screenID] = func(st *server.ScreenStatus) { prev(st); change(st) }
	} else {
		f.pending[screenID] = change
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes the queued changes.
func (f *Fleet) writeLoop() {
	defer f.wg.Done()
	for {
		select {
		case <-f.ctx.Done():
			f.flush(context.Background())
			return
		case <-f.wake:
		}
		f.flush(f.ctx)
	}
}

// Flush writes the changes queued so far, and returns once they are
// written, with any the background writer had taken (tests, and Close).
func (f *Fleet) Flush(ctx context.Context) { f.flush(ctx) }

func (f *Fleet) flush(ctx context.Context) {
	f.flushing.Lock()
	defer f.flushing.Unlock()
	f.mu.Lock()
	pending := f.pending
	f.pending = map[string]func(*server.ScreenStatus){}
	f.mu.Unlock()
	for id, change := range pending {
		_, err := f.cfg.Store.UpdateScreenStatus(ctx, id, func(st *server.ScreenStatus) error { change(st); return nil })
		if server.IsNotFound(err) {
			st := server.ScreenStatus{ScreenID: id}
			change(&st)
			err = f.cfg.Store.PutScreenStatus(ctx, st)
		}
		if err != nil && ctx.Err() == nil {
			f.log.Warn("recording a screen's status", "screen", id, "err", err)
		}
	}
}

// tickLoop says this replica is alive every Every, and checks for
// offline screens when a check is due (checkEvery).
func (f *Fleet) tickLoop() {
	defer f.wg.Done()
	t := time.NewTicker(f.cfg.Every)
	defer t.Stop()
	for {
		if err := f.tick(f.ctx); err != nil && f.ctx.Err() == nil {
			f.log.Warn("checking for offline screens", "err", err)
		}
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
	}
}

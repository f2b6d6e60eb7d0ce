package screens

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/source"
)

// session is a screen that is being shown somewhere: its state machine.
// Its lock guards its fields and nothing else, and is held only to read
// or change them: never across a render, the store or a connection.
type session struct {
	m  *Manager
	id string

	ctx    context.Context // ends when the session stops
	cancel context.CancelFunc
	// reoffer asks the sign-in to make new offers now (its sign-in mode
	// changed).
	reoffer chan struct{}

	mu sync.Mutex
	// stopped is set when the session ends: it is out of the manager's
	// map, and whoever holds it starts nothing more with it.
	stopped bool
	screen  server.Screen
	// hours are the screen's opening hours, read from its settings.
	hours   Hours
	hasHour bool
	// conns counts the screen's WebSocket connections.
	conns int
	// touch comes from the screen's latest hello.
	touch bool
	// grace stops the session at heldUntil when no connection holds it.
	grace     *time.Timer
	heldUntil time.Time
	// signingIn is true while the sign-in loop runs.
	signingIn bool
	// codeBlocked is true once the organisation refused the screen's
	// device code (or the refresh of a session begun with one): a screen
	// that may sign in by QR code then offers only that.
	codeBlocked bool

	phase   wire.Phase
	code    *wire.Code
	problem *wire.Problem
	// shown is the account shown, when signed in (its subscription to the
	// account's source), and snap the latest snapshot of it applied.
	shown *shown
	snap  *source.Snapshot[*accountData]
	// board is the board shown, when the screen's layout is a board and
	// it is signed in (its subscription to the board's source), and
	// boardSnap the latest snapshot of it applied (board.go).
	board     *boardShown
	boardSnap *source.Snapshot[*boardData]
	// consent is what a board screen shows for a while when its sign-in
	// was refused for want of consent (no account then).
	consent *wire.Board
	// booking is the outcome of the screen's last quick booking, shown
	// for a while (book.go).
	booking *wire.Booking

	// decided is the gen of the latest look whose state was decided on
	// (sent or found unchanged): an older look is dropped.
	decided uint64
	// last is the hash of the last state decided on, without its clock,
	// to publish only what changed (sent is false until one was, or when
	// a new connection needs it again); changed is closed at the next
	// change, and made only when someone waits for one (State): a change
	// allocates nothing when nobody does.
	last    uint64
	sent    bool
	changed chan struct{}
	// asleep is whether the last state decided on showed the screen
	// asleep (outside its opening hours).
	asleep bool
	// told is what the observer was last told the screen shows (its
	// phase and account).
	told string
	// scope is the choice made on the phone for the sign-in under way
	// (ScopeGroup, or "" for this screen); on the device-code path,
	// scopeCode is the hash of the code it was made for (group.go).
	scope     string
	scopeCode []byte
	// taken ends the sign-in: another screen of the group signed it in.
	taken chan struct{}
	// screenKey is the screen's part of the last state rendered, and
	// screenJSON its encoding, reused while it is the same.
	screenKey  wire.Screen
	screenJSON []byte
	// windowZone is the time zone this screen last gave its account's
	// calendar window (when it came to show the account, or moved).
	windowZone string
}

// setScreenLocked takes the screen's stored record (its name and settings
// above all).
func (s *session) setScreenLocked(sc server.Screen) {
	s.screen = sc
	s.hours, s.hasHour, _ = ParseHours(sc.Settings.Hours)
	if s.m != nil {
		s.m.syncBoardLocked(s)
		// The account's calendar window turns at midnight in the zone of
		// the screen that last showed it or moved to another zone; any
		// other change (a rename) of a screen elsewhere leaves it.
		if zone := s.m.zoneLocked(s); s.shown != nil && zone != s.windowZone {
			s.windowZone = zone
			s.shown.w.zone.Store(&zone)
		}
	}
}

// Hello records what a screen's browser said of itself.
type Hello struct {
	Touch bool
}

// Attach counts a new connection of a screen, starting its session when it
// has none, and publishes the screen's state to its connections.
func (m *Manager) Attach(ctx context.Context, screenID string, h Hello) error {
	s, err := m.lockSession(ctx, screenID)
	if err != nil {
		return err
	}
	s.conns++
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.touch = h.Touch
	s.sent = false // publish even if unchanged: the new connection needs it
	lk := m.lookLocked(s, m.cfg.Now())
	s.mu.Unlock()
	m.emit(s, lk)
	m.seen(screenID)
	return nil
}

// Detach counts a connection gone; the session stops after the grace period
// when it was the last one. The screen was seen until now.
func (m *Manager) Detach(screenID string) {
	s := m.session(screenID)
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.conns > 0 {
		s.conns--
	}
	if s.conns == 0 && !s.stopped {
		m.holdLocked(s, m.cfg.Grace)
	}
	s.mu.Unlock()
	m.seen(screenID)
}

// keepSeen records, every SeenEvery, that the connected screens are seen:
// a screen that stays connected for weeks is not one that went away.
func (m *Manager) keepSeen() {
	t := time.NewTicker(m.cfg.SeenEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		var connected []string
		for _, s := range m.allSessions() {
			s.mu.Lock()
			if s.conns > 0 {
				connected = append(connected, s.id)
			}
			s.mu.Unlock()
		}
		for _, id := range connected {
			m.seen(id)
		}
	}
}

// State returns what a screen shows now, starting its session when it has
// none. It waits up to wait for a state better than "connecting" (the code
// of a new screen takes one request to the identity platform), so that the
// first HTML a browser receives already carries it.
//
// A call is a view of the screen's page: it holds the session for
// Config.ViewHold, so that a screen that only reloads its page (a browser
// without WebAssembly) keeps its code and its account's source between
// reloads, and a reloaded page whose Wasm is slow to start finds its
// session still there (the old page's WebSocket closes after the request).
func (m *Manager) State(ctx context.Context, screenID string, wait time.Duration) (wire.State, error) {
	st, err := m.waitState(ctx, screenID, wait)
	if err == nil {
		m.seen(screenID)
	}
	return st, err
}

// waitState is State without recording that the screen was seen.
func (m *Manager) waitState(ctx context.Context, screenID string, wait time.Duration) (wire.State, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		s, err := m.lockSession(ctx, screenID)
		if err != nil {
			return wire.State{}, err
		}
		m.holdLocked(s, m.cfg.ViewHold)
		lk := m.lookLocked(s, m.cfg.Now())
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		st := m.state(lk)
		if st.Phase != wire.PhaseConnecting {
			return st, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return st, nil
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// lockSession returns the screen's session with its lock held, starting
// the session when there is none. Holding the lock on return means the
// session cannot stop (its grace period end) before the caller uses it.
func (m *Manager) lockSession(ctx context.Context, screenID string) (*session, error) {
	for {
		s, err := m.ensure(ctx, screenID)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if !s.stopped {
			return s, nil
		}
		s.mu.Unlock() // it stopped meanwhile: it is out of the map
	}
}

// ensure returns the screen's session, starting it when there is none.
func (m *Manager) ensure(ctx context.Context, screenID string) (*session, error) {
	if s := m.session(screenID); s != nil {
		return s, nil
	}
	sc, err := m.cfg.Store.Screen(ctx, screenID)
	if err != nil {
		return nil, fmt.Errorf("screens: starting session of %s: %w", screenID, err)
	}
	var acct server.Account
	if sc.AccountID != "" {
		acct, err = m.cfg.Store.Account(ctx, sc.AccountID)
		if server.IsNotFound(err) {
			// The screen names an account that is gone (signed out
			// elsewhere): it shows the sign-in again.
			sc.AccountID = ""
		} else if err != nil {
			return nil, fmt.Errorf("screens: starting session of %s: %w", screenID, err)
		}
	}

	sctx, cancel := context.WithCancel(m.ctx)
	s := &session{m: m, id: screenID, ctx: sctx, cancel: cancel, phase: wire.PhaseConnecting,
		reoffer: make(chan struct{}, 1), taken: make(chan struct{}, 1)}
	s.setScreenLocked(sc)
	// The session is in the map only once it is going: whoever finds it
	// there waits for its lock.
	s.mu.Lock()
	m.mu.Lock()
	if other := m.sessions[screenID]; other != nil {
		m.mu.Unlock()
		s.mu.Unlock()
		cancel()
		return other, nil // started meanwhile
	}
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		s.mu.Unlock()
		cancel()
		return nil, server.Errorf(server.EUNAVAILABLE, "the server is shutting down")
	}
	m.sessions[screenID] = s
	m.active.add(1)
	m.mu.Unlock()
	publish := m.startLocked(s, acct)
	s.mu.Unlock()
	if publish {
		m.publish(s)
	}
	return s, nil
}

// startLocked sets a session going: pairing, signing in, or showing its
// account. It reports whether the screen's state is to be published.
func (m *Manager) startLocked(s *session, acct server.Account) bool {
	switch {
	case !s.screen.Enrolled:
		s.phase = wire.PhasePairing
		m.awaitEnrollmentLocked(s)
		return true
	case s.screen.AccountID != "":
		return m.showLocked(s, acct)
	default:
		m.startSignInLocked(s)
		return false
	}
}

// holdLocked keeps the session for d more, or until its current hold ends
// when that is later: it then stops, unless a connection holds it.
func (m *Manager) holdLocked(s *session, d time.Duration) {
	until := time.Now().Add(d)
	if s.grace != nil {
		if s.heldUntil.After(until) {
			return
		}
		s.grace.Stop()
	}
	s.heldUntil = until
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.grace != t || s.conns > 0 {
			return // reattached or rescheduled meanwhile
		}
		m.stopLocked(s)
	})
	s.grace = t
}

// stopLocked ends a session: it leaves the manager's map, its sign-in
// stops, it no longer shows its account.
func (m *Manager) stopLocked(s *session) {
	if s.stopped {
		return
	}
	s.stopped = true
	m.mu.Lock()
	if m.sessions[s.id] == s {
		delete(m.sessions, s.id)
		m.active.add(-1)
	}
	m.mu.Unlock()
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.cancel()
	m.unshowLocked(s)
}

// Active returns how many sessions run (screens shown or in their grace
// period).
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// publish sends the session's state to its connections when it changed,
// and wakes those waiting in State.
func (m *Manager) publish(s *session) {
	s.mu.Lock()
	lk := m.lookLocked(s, m.cfg.Now())
	s.mu.Unlock()
	m.emit(s, lk)
}

// emit renders a look of the session and, unless a newer look was decided
// on meanwhile or the state is the same as the last one decided on, sends
// it to the screen's connections and wakes those waiting in State. Only
// the decision takes the session's lock: the rendering and the sending
// are outside it.
func (m *Manager) emit(s *session, lk look) {
	if lk.st.Phase == wire.PhaseConnecting {
		return
	}
	r, err := m.render(lk)
	if err != nil {
		m.log.Error("encoding a screen's state", "screen", s.id, "err", err)
		return
	}
	s.mu.Lock()
	if lk.gen < s.decided {
		s.mu.Unlock()
		return // a newer look was decided on: it shows a newer state
	}
	s.decided = lk.gen
	if lk.screenJSON == nil && r.screen != nil {
		s.screenKey, s.screenJSON = lk.st.Screen, r.screen
	}
	s.asleep = lk.st.Screen.Asleep
	if s.sent && r.sum == s.last {
		s.mu.Unlock()
		return
	}
	s.last, s.sent = r.sum, true
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	connected := s.conns > 0
	account := ""
	if s.shown != nil && lk.st.Phase == wire.PhaseDashboard {
		account = s.shown.w.account.Username
	}
	tell := string(lk.st.Phase) + "|" + account
	if tell == s.told {
		tell = ""
	} else {
		s.told = tell
	}
	s.mu.Unlock()
	if connected {
		m.cfg.Publisher.Send(server.Frame{Screen: s.id, Seq: lk.gen, Data: m.message(r, lk)})
	}
	if tell != "" && m.cfg.Observer != nil {
		m.cfg.Observer.Showing(s.id, string(lk.st.Phase), account)
	}
}

// seen records when a screen was last connected or its page viewed, at
// most once a minute.
func (m *Manager) seen(screenID string) {
	now := m.cfg.Now()
	_, err := m.cfg.Store.UpdateScreen(context.WithoutCancel(m.ctx), screenID, func(sc *server.Screen) error {
		if now.Sub(sc.LastSeen) < time.Minute {
			return errUnchanged
		}
		sc.LastSeen = now
		return nil
	})
	if err != nil && err != errUnchanged {
		m.log.Warn("recording when a screen was seen", "screen", screenID, "err", err)
	}
}

var errUnchanged = fmt.Errorf("unchanged")

// Watches returns how many accounts are being read from Graph (or from
// their owner, on another replica).
func (m *Manager) Watches() int { return m.accounts.Len() }

package screens

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
)

// session is a screen that is being shown somewhere. Its fields are guarded
// by Manager.mu.
type session struct {
	id     string
	screen server.Screen
	// conns counts the screen's WebSocket connections.
	conns int
	// touch comes from the screen's latest hello.
	touch bool

	ctx    context.Context // ends when the session stops
	cancel context.CancelFunc
	// grace stops the session at heldUntil when no connection holds it.
	grace     *time.Timer
	heldUntil time.Time
	// signingIn is true while the sign-in loop runs.
	signingIn bool
	// codeBlocked is true once the organisation refused the screen's
	// device code (or the refresh of a session begun with one): a screen
	// that may sign in by QR code then offers only that.
	codeBlocked bool
	// reoffer asks the sign-in to make new offers now (its sign-in mode
	// changed).
	reoffer chan struct{}

	phase   wire.Phase
	code    *wire.Code
	problem *wire.Problem
	watch   *watch // the account shown, when signed in
	// booking is the outcome of the screen's last quick booking, shown
	// for a while (book.go).
	booking *wire.Booking

	// last is the hash of the last state published, without its clock,
	// to publish only what changed (sent is false until one was, or when
	// a new connection needs it again); changed is closed (and replaced)
	// on every change.
	last    uint64
	sent    bool
	changed chan struct{}
	// asleep is whether the last state published showed the screen
	// asleep (outside its opening hours).
	asleep bool
}

// Hello records what a screen's browser said of itself.
type Hello struct {
	Touch bool
}

// Attach counts a new connection of a screen, starting its session when it
// has none, and publishes the screen's state to its connections.
func (m *Manager) Attach(ctx context.Context, screenID string, h Hello) error {
	s, err := m.ensureLocked(ctx, screenID)
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
	m.publishLocked(s)
	m.mu.Unlock()
	m.seen(screenID)
	return nil
}

// Detach counts a connection gone; the session stops after the grace period
// when it was the last one. The screen was seen until now.
func (m *Manager) Detach(screenID string) {
	m.mu.Lock()
	s := m.sessions[screenID]
	if s == nil {
		m.mu.Unlock()
		return
	}
	if s.conns > 0 {
		s.conns--
	}
	if s.conns == 0 {
		m.holdLocked(s, m.cfg.Grace)
	}
	m.mu.Unlock()
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
		m.mu.Lock()
		var connected []string
		for id, s := range m.sessions {
			if s.conns > 0 {
				connected = append(connected, id)
			}
		}
		m.mu.Unlock()
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
// without WebAssembly) keeps its code and its account's watch between
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
		s, err := m.ensureLocked(ctx, screenID)
		if err != nil {
			return wire.State{}, err
		}
		m.holdLocked(s, m.cfg.ViewHold)
		st := m.viewLocked(s)
		changed := s.changed
		m.mu.Unlock()
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

// ensureLocked returns the screen's session with m.mu held, starting the
// session when there is none. Holding the lock on return means the session
// cannot stop (its grace period end) before the caller uses it.
func (m *Manager) ensureLocked(ctx context.Context, screenID string) (*session, error) {
	for {
		s, err := m.ensure(ctx, screenID)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		if m.sessions[screenID] == s {
			return s, nil
		}
		m.mu.Unlock()
	}
}

// ensure returns the screen's session, starting it when there is none.
func (m *Manager) ensure(ctx context.Context, screenID string) (*session, error) {
	m.mu.Lock()
	s := m.sessions[screenID]
	m.mu.Unlock()
	if s != nil {
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

	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sessions[screenID]; s != nil {
		return s, nil // started meanwhile
	}
	if m.ctx.Err() != nil {
		return nil, server.Errorf(server.EUNAVAILABLE, "the server is shutting down")
	}
	sctx, cancel := context.WithCancel(m.ctx)
	s = &session{id: screenID, screen: sc, ctx: sctx, cancel: cancel, phase: wire.PhaseConnecting, changed: make(chan struct{}), reoffer: make(chan struct{}, 1)}
	m.sessions[screenID] = s
	m.startLocked(s, acct)
	return s, nil
}

// startLocked sets a session going: pairing, signing in, or showing its
// account.
func (m *Manager) startLocked(s *session, acct server.Account) {
	switch {
	case !s.screen.Enrolled:
		s.phase = wire.PhasePairing
		m.publishLocked(s)
		m.awaitEnrollmentLocked(s)
	case s.screen.AccountID != "":
		m.attachWatchLocked(s, acct)
	default:
		m.startSignInLocked(s)
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
		m.mu.Lock()
		defer m.mu.Unlock()
		if s.grace != t || s.conns > 0 {
			return // reattached or rescheduled meanwhile
		}
		m.stopLocked(s)
	})
	s.grace = t
}

// stopLocked ends a session: its sign-in stops, its watch forgets it.
func (m *Manager) stopLocked(s *session) {
	if m.sessions[s.id] == s {
		delete(m.sessions, s.id)
	}
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.cancel()
	m.detachWatchLocked(s)
}

// Active returns how many sessions run (screens shown or in their grace
// period).
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// publishLocked sends the session's state to its connections when it
// changed, and wakes those waiting in State.
func (m *Manager) publishLocked(s *session) {
	m.publishAtLocked(s, m.cfg.Now())
}

// publishAtLocked is publishLocked with the clock read once by the caller,
// so that the screens of one account share what depends only on the time
// (their agenda).
func (m *Manager) publishAtLocked(s *session, now time.Time) {
	st := m.viewAtLocked(s, now)
	if st.Phase == wire.PhaseConnecting {
		return
	}
	s.asleep = st.Screen.Asleep
	// The state is encoded once, without its clock, to see whether it
	// changed (a hash of it is kept, not the state); the clock is then
	// written into the same bytes.
	st.Now = time.Time{}
	body, err := wire.Encode(st)
	if err != nil {
		m.log.Error("encoding a screen's state", "screen", s.id, "err", err)
		return
	}
	sum := maphash.Bytes(m.seed, body)
	if s.sent && sum == s.last {
		return
	}
	s.last, s.sent = sum, true
	close(s.changed)
	s.changed = make(chan struct{})
	if s.conns > 0 {
		m.cfg.Publisher.Publish(s.id, stampNow(body, now))
	}
}

// zeroNow is how an encoded State without its clock carries it.
var zeroNow = []byte(`"now":"0001-01-01T00:00:00Z"`)

// stampNow writes now into an encoded State made without its clock. "now"
// is the State's second field, after the phase: its first occurrence is
// the field (inside a JSON string a quote is escaped, so no text of a
// screen can look like it).
func stampNow(body []byte, now time.Time) []byte {
	i := bytes.Index(body, zeroNow)
	if i < 0 {
		return body
	}
	ts, err := now.MarshalJSON()
	if err != nil {
		return body
	}
	const key = len(`"now":`)
	out := make([]byte, 0, len(body)+len(ts))
	out = append(out, body[:i+key]...)
	out = append(out, ts...)
	return append(out, body[i+len(zeroNow):]...)
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

// Watches returns how many accounts are being read from Graph.
func (m *Manager) Watches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.watches)
}

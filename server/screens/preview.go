package screens

import (
	"context"
	"fmt"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/source"
)

// Preview returns what a screen shows now, for an administrator's preview,
// and starts nothing (no session, no sign-in, no poll): the state of its
// session here, when it has one; otherwise what its record and its
// account's latest snapshot give, as the screen renders them (its
// settings, privacy and private meetings included). A screen signing in
// on another replica shows its code there only: its preview says it is
// connecting.
func (m *Manager) Preview(ctx context.Context, screenID string) (wire.State, error) {
	now := m.cfg.Now()
	if s := m.session(screenID); s != nil {
		s.mu.Lock()
		stopped := s.stopped
		lk := m.lookLocked(s, now)
		s.mu.Unlock()
		if !stopped {
			return m.state(lk), nil
		}
	}
	sc, err := m.cfg.Store.Screen(ctx, screenID)
	if server.IsNotFound(err) {
		return wire.State{}, server.Errorf(server.ENOTFOUND, "no screen has the id %s", screenID)
	}
	if err != nil {
		return wire.State{}, fmt.Errorf("screens: previewing %s: %w", screenID, err)
	}
	// A session of its own, in no map: lookLocked reads it and nothing
	// else sees it.
	s := &session{m: m, id: screenID, phase: wire.PhaseConnecting}
	s.setScreenLocked(sc)
	switch {
	case !sc.Enrolled:
		s.phase = wire.PhasePairing
	case sc.AccountID != "":
		if snap := m.latest(ctx, sc.AccountID); snap != nil {
			s.phase, s.snap = wire.PhaseDashboard, snap
		}
	}
	return m.state(m.lookLocked(s, now)), nil
}

// latest is an account's latest snapshot: its source's here, or what its
// owner last published; nil when there is none yet.
func (m *Manager) latest(ctx context.Context, accountID string) *source.Snapshot[*accountData] {
	if w, ok := m.accounts.Get(accountID); ok {
		if snap := w.src.Latest(); snap != nil {
			return snap
		}
	}
	b, _, err := m.cfg.Cluster.SourceData(ctx, accountID)
	if err != nil {
		if !server.IsNotFound(err) {
			m.log.Warn("reading an account's snapshot for a preview", "account", accountID, "err", err)
		}
		return nil
	}
	d, err := decodeData(b)
	if err != nil {
		m.log.Warn("reading an account's snapshot for a preview", "account", accountID, "err", err)
		return nil
	}
	return &source.Snapshot[*accountData]{Value: d, At: m.cfg.Now()}
}

package screens

import (
	"context"
	"fmt"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
)

// A light key of a room's account (an LED bar outside the door) is told
// the room's status from its calendar, free, soon or busy
// (wire.RoomFree, RoomSoon, RoomBusy), as its panel shows it: a room has
// no Teams presence of its own, or one that says nothing of the room (a
// Teams Rooms device's). An account is a room's when a screen shows it in
// the room layout. The status turns with the clock (a meeting begins, or
// is 10 minutes away), so a room's follower is told again then, without
// waiting for a new read of the calendar.

// An account becomes a room's, or stops being one, when a screen in the
// room layout signs in or out or a screen's layout changes, here or on
// another replica: each such change has the followers' accounts checked
// again (keepRooms), and so does a minute's passing, for the changes no
// replica tells the others (a sign-in on another replica).

// roomCheckGap is the least time between two checks of which followed
// accounts are rooms': each reads every screen from the store, and a storm
// of sign-ins asks for one at each.
const roomCheckGap = time.Second

// roomCheckEvery is how often the followed accounts are checked again
// without being asked.
const roomCheckEvery = time.Minute

// isRoom reports whether a screen shows the account in the room layout.
func (m *Manager) isRoom(ctx context.Context, accountID string) (bool, error) {
	rooms, err := m.roomAccounts(ctx)
	if err != nil {
		return false, fmt.Errorf("screens: finding the screens of the account %s: %w", accountID, err)
	}
	return rooms[accountID], nil
}

// roomAccounts returns the accounts that a screen shows in the room
// layout.
func (m *Manager) roomAccounts(ctx context.Context) (map[string]bool, error) {
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		return nil, err
	}
	rooms := map[string]bool{}
	for _, sc := range all {
		if sc.AccountID != "" && sc.Settings.LayoutOrDefault() == server.LayoutRoom {
			rooms[sc.AccountID] = true
		}
	}
	return rooms, nil
}

// roomsMayHaveChanged asks keepRooms to check the followers' accounts
// again: a screen's record changed. It does not block.
func (m *Manager) roomsMayHaveChanged() {
	select {
	case m.roomsChanged <- struct{}{}:
	default: // a check is asked for already
	}
}

// keepRooms checks which followed accounts are rooms' when asked (at most
// once per roomCheckGap) and every roomCheckEvery, until the manager
// closes.
func (m *Manager) keepRooms() {
	every := time.NewTicker(roomCheckEvery)
	defer every.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.roomsChanged:
		case <-every.C:
		}
		if err := m.recheckRooms(m.ctx); err != nil && m.ctx.Err() == nil {
			m.log.Warn("checking which followed accounts are rooms'", "err", err)
		}
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(roomCheckGap):
		}
	}
}

// recheckRooms tells each follower whose account became a room's, or
// stopped being one, what it now follows: the room's status, or the
// account's presence.
func (m *Manager) recheckRooms(ctx context.Context) error {
	m.followMu.Lock()
	none := len(m.followers) == 0
	m.followMu.Unlock()
	if none {
		return nil
	}
	rooms, err := m.roomAccounts(ctx)
	if err != nil {
		return err
	}
	m.followMu.Lock()
	defer m.followMu.Unlock()
	for _, fo := range m.followers {
		fo.mu.Lock()
		m.setRoomLocked(fo, rooms[fo.id])
		fo.mu.Unlock()
	}
	return nil
}

// setRoomLocked makes a follower a room's or an account's and, when that
// changed, tells it the latest snapshot as such. A room's follower needs
// the account's calendar, as a screen does (watch.shown). followMu and
// the follower's lock are held.
func (m *Manager) setRoomLocked(fo *followed, room bool) {
	if fo.room == room {
		return
	}
	fo.room = room
	sub := fo.sub
	if sub == nil {
		return // signed in nowhere: it is told so, a room's or not
	}
	if room {
		if sub.w.shown.Add(1) == 1 {
			sub.w.src.Wake()
		}
	} else {
		sub.w.shown.Add(-1)
		if fo.turn != nil {
			fo.turn.Stop()
			fo.turn = nil
		}
	}
	snap := sub.w.src.Latest()
	if snap == nil {
		return
	}
	if room {
		m.tellRoomLocked(fo, sub, snap.Value)
		return
	}
	fo.tellLocked(owned(snap.Value.follow, sub.w))
}

// roomPresence is what a room's follower is told of a snapshot at now
// (old: what it was told), and when that next changes (zero: not within
// the events held).
func roomPresence(d *accountData, now time.Time, old server.Presence) (server.Presence, time.Time) {
	p := server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Stale: d.stale || d.fresh.IsZero(), SignedIn: true}
	var change time.Time
	if d.calendar && !d.fresh.IsZero() {
		events := blocking(d.events)
		status, _ := wire.RoomStatus(events, now)
		p.Availability, p.Activity = status, status
		change = wire.RoomChange(events, now)
	}
	if p.Same(old) {
		return old, change
	}
	p.Updated = now
	return p, change
}

// tellRoomLocked tells a room's follower the room's status in the
// latest snapshot of its source, and has it told again when the status
// turns with the clock. The follower's lock is held.
func (m *Manager) tellRoomLocked(fo *followed, sub *following, d *accountData) {
	now := m.cfg.Now()
	old := fo.told
	if !fo.any {
		old = server.Presence{}
	}
	p, change := roomPresence(d, now, old)
	fo.tellLocked(owned(p, sub.w))
	if fo.turn != nil {
		fo.turn.Stop()
		fo.turn = nil
	}
	if change.IsZero() {
		return
	}
	fo.turn = time.AfterFunc(max(change.Sub(now), 0)+50*time.Millisecond, func() {
		fo.mu.Lock()
		defer fo.mu.Unlock()
		if fo.sub != sub || m.ctx.Err() != nil {
			return
		}
		if snap := sub.w.src.Latest(); snap != nil {
			m.tellRoomLocked(fo, sub, snap.Value)
		}
	})
}

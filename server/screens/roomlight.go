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

// isRoom reports whether a screen shows the account in the room layout.
func (m *Manager) isRoom(ctx context.Context, accountID string) (bool, error) {
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		return false, fmt.Errorf("screens: finding the screens of the account %s: %w", accountID, err)
	}
	for _, sc := range all {
		if sc.AccountID == accountID && accountID != "" && sc.Settings.LayoutOrDefault() == server.LayoutRoom {
			return true, nil
		}
	}
	return false, nil
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

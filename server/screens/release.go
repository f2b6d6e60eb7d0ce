package screens

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
)

// Auto-release: a room whose panel has auto_release on declines a
// meeting nobody checked in to within ReleaseAfter of its start, as Teams
// panels and Robin release no-shows, so that the room is free for others.
// The room's own account declines it, with a comment saying why: the
// organiser is told, the meeting leaves the room's calendar, and for an
// occurrence of a series only that occurrence is declined
// (https://learn.microsoft.com/en-us/graph/api/event-decline: an
// occurrence's id answers that occurrence; that the rest of the series
// stays is the sandbox's reading, unconfirmed by the page). All-day
// meetings and meetings of 8 hours or more are never released (Robin
// exempts them: a training day, an offsite). Check-ins and releases are
// marks in the store (RoomMark), one a meeting: a replica that takes the
// room over keeps them, and a meeting is released once.

// releaseEvery is how often the owner of a room's account looks for
// meetings to release, and brings its panels the check-ins made on other
// replicas.
const releaseEvery = 15 * time.Second

// Bounds of auto-release.
const (
	// neverRelease: a meeting this long or longer is never released.
	neverRelease = 8 * time.Hour
	// releaseLate is how long after its release time a meeting is still
	// released, when the edge server could not do it then (it was down):
	// later, people may well be in the room, unchecked.
	releaseLate = 10 * time.Minute
	// marksKept is how long the marks of a meeting are kept.
	marksKept = 48 * time.Hour
)

// keepReleasing looks for meetings to release every releaseEvery, until
// the manager stops.
func (m *Manager) keepReleasing() {
	tick := time.NewTicker(releaseEvery)
	defer tick.Stop()
	var pruned time.Time
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-tick.C:
		}
		m.releaseDue(m.ctx)
		if now := m.cfg.Now(); now.Sub(pruned) > time.Hour {
			pruned = now
			if err := m.cfg.Store.DeleteRoomMarksBefore(m.ctx, now.Add(-marksKept)); err != nil {
				m.log.Warn("forgetting rooms' old check-ins and releases", "err", err)
			}
		}
	}
}

// releaseDue releases, for every room shown in the room layout whose
// account this replica owns, the meetings due, and has the room's panels
// show the check-ins stored. A room's meetings are released after the
// shortest ReleaseAfter of its panels that have auto-release on: those
// here, or, for a room only a light follows here, those in the store.
func (m *Manager) releaseDue(ctx context.Context) {
	now := m.cfg.Now()
	rooms := map[*watch]time.Duration{} // 0: shown, auto-release off
	for _, s := range m.allSessions() {
		s.mu.Lock()
		set := s.screen.Settings
		if s.shown != nil && set.LayoutOrDefault() == server.LayoutRoom {
			w := s.shown.w
			after, seen := rooms[w]
			if set.AutoRelease && (!seen || after == 0 || set.ReleaseAfter() < after) {
				after = set.ReleaseAfter()
			}
			rooms[w] = after
		}
		s.mu.Unlock()
	}
	// A room's light may keep the room's source here while its panels
	// are on other replicas: their settings are the store's.
	var away []*watch
	m.followMu.Lock()
	for _, fo := range m.followers {
		fo.mu.Lock()
		if fo.room && fo.sub != nil {
			if _, ok := rooms[fo.sub.w]; !ok && !slices.Contains(away, fo.sub.w) && fo.sub.w.src.Owns() {
				away = append(away, fo.sub.w)
			}
		}
		fo.mu.Unlock()
	}
	m.followMu.Unlock()
	if len(away) > 0 {
		all, err := m.cfg.Store.Screens(ctx)
		if err != nil {
			m.log.Warn("reading the settings of rooms' panels", "err", err)
		}
		for _, sc := range all {
			set := sc.Settings
			for _, w := range away {
				if sc.AccountID != w.account.ID || set.LayoutOrDefault() != server.LayoutRoom {
					continue
				}
				after, seen := rooms[w]
				if set.AutoRelease && (!seen || after == 0 || set.ReleaseAfter() < after) {
					after = set.ReleaseAfter()
				}
				rooms[w] = after
			}
		}
	}
	for w, after := range rooms {
		if !w.src.Owns() {
			continue // its owner releases
		}
		if err := m.releaseRoom(ctx, w, after, now); err != nil {
			m.log.Warn("releasing a room's meetings", "account", w.account.Username, "err", err)
		}
	}
}

// releaseRoom brings a room's panels its stored check-ins, and releases
// its meetings due at now when after is not 0.
func (m *Manager) releaseRoom(ctx context.Context, w *watch, after time.Duration, now time.Time) error {
	marks, err := m.cfg.Store.RoomMarks(ctx, w.account.ID, now.Add(-marksKept))
	if err != nil {
		return err
	}
	marked := map[string]bool{}
	var checked []string
	for _, mk := range marks {
		marked[mk.EventID] = true
		if mk.Kind == server.RoomCheckedIn {
			checked = append(checked, mk.EventID)
		}
	}
	snap := w.src.Latest()
	if snap == nil {
		return nil
	}
	if !sameSet(snap.Value.checkedIn, checked) {
		w.update(func(d *accountData) { d.checkedIn = checked })
	}
	if after == 0 || !m.bookable {
		return nil
	}
	for _, ev := range snap.Value.events {
		if marked[ev.ID] || !releasable(ev, now, after) {
			continue
		}
		if err := m.release(ctx, w, ev, after, now); err != nil {
			m.log.Warn("releasing a meeting nobody checked in to", "account", w.account.Username, "err", err)
		}
	}
	return nil
}

// releasable reports whether a meeting is due for release at now: a
// meeting of someone else's (the room cannot decline its own) that shows
// the room busy, begun at least after ago and not much more, not over,
// neither all-day nor of neverRelease or longer, and not declined
// already.
func releasable(ev graph.Event, now time.Time, after time.Duration) bool {
	e, ok := convert(ev, time.UTC)
	if !ok || !e.Blocks() || ev.IsOrganizer || ev.ShowAs == "free" || ev.ResponseStatus.Response == "declined" {
		return false
	}
	due := e.Start.Add(after)
	return e.End.Sub(e.Start) < neverRelease && !now.Before(due) && now.Before(due.Add(releaseLate)) && now.Before(e.End)
}

// release declines one meeting as the room, once: the mark is taken
// first, so that no other replica (nor this one, again) declines it too,
// and given back when Graph refuses, to try again.
func (m *Manager) release(ctx context.Context, w *watch, ev graph.Event, after time.Duration, now time.Time) error {
	ok, err := m.cfg.Store.PutRoomMark(ctx, server.RoomMark{AccountID: w.account.ID, EventID: ev.ID, Kind: server.RoomReleased, At: now})
	if err != nil || !ok {
		return err // checked in meanwhile, or released by another replica
	}
	minutes := int(after / time.Minute)
	err = m.withToken(ctx, w, func(token string) error {
		return m.cfg.Graph.DeclineEvent(ctx, token, ev.ID, graph.Reply{
			Comment: fmt.Sprintf("Released automatically: nobody checked in on the room's panel within %d minutes of the start, so the room is free for others.", minutes),
			// The organiser is told, as Teams panels tell them.
			SendResponse: true,
		})
	})
	switch {
	case err == nil:
	case graph.StatusOf(err) == http.StatusNotFound:
		// Gone from the room's calendar already (cancelled, declined
		// elsewhere): nothing to release, and the mark stays.
		return nil
	default:
		if derr := m.cfg.Store.DeleteRoomMark(context.WithoutCancel(ctx), w.account.ID, ev.ID, server.RoomReleased); derr != nil {
			m.log.Error("forgetting a release Graph refused: the meeting will not be released", "account", w.account.Username, "err", derr)
		}
		return fmt.Errorf("declining a meeting nobody checked in to: %w", err)
	}
	w.update(func(d *accountData) { d.events = removeEvent(d.events, ev.ID) })
	start, _ := ev.Start.Time()
	m.log.Info("released a meeting nobody checked in to", "account", w.account.Username, "start", start, "after_minutes", minutes)
	m.audit(context.WithoutCancel(ctx), server.AuditEvent{Kind: server.AuditRoomAction, Account: w.account.Username,
		Outcome: "release: ok", Detail: fmt.Sprintf("released the meeting of %s: nobody checked in within %d minutes", start.UTC().Format(time.RFC3339), minutes)})
	return nil
}

// sameSet reports whether two lists hold the same ids.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

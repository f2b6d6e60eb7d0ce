package screens

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
)

// An account's calendar is read by rounds of calendarView delta: a first
// round reads the window's events, each next round (from the last one's
// deltaLink) only what changed since, usually nothing, in one request.
// https://learn.microsoft.com/en-us/graph/delta-query-events
//
// The window is a few days around today in the zone of the account's
// screens, and is fixed for a day: a delta token encodes its window, so
// the rounds start again from nothing when the day rolls at midnight in
// that zone (or the zone changes). Where the rounds stand (the window, the
// deltaLink, the events they apply to) is kept in the store, so that a
// replica that takes the account over continues from it instead of reading
// the whole window again.

// DefaultCalendarEvery is how often an account's calendar is read when
// screens show it: a change made in Outlook reaches its screens within
// this period and the round's own time (well under 15 s). A round that
// finds nothing is one request: 60 per 10 minutes, against Outlook's
// 10,000 per app and mailbox.
// https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits
const DefaultCalendarEvery = 10 * time.Second

// DefaultScheduleEvery is how often a board reads free/busy by
// getSchedule, which has no delta: each read is a request per 20
// mailboxes, so that a board of many is read less often than an account's
// own calendar.
const DefaultScheduleEvery = 2 * time.Minute

// deltaPageSize is how many events a page of a round holds at most
// (Prefer: odata.maxpagesize): a first round of a busy room's window in a
// few requests.
const deltaPageSize = 50

// storeEvery is how often the rounds' state is stored when nothing
// changed: the stored deltaLink stays recent, so that a new owner's round
// from it finds its state token still held by Graph (whose tokens for
// Outlook last a time that is not documented), at the cost of one write
// per account now and then.
const storeEvery = 10 * time.Minute

// calendarWindow is the window of an account's rounds of delta: from two
// days before the start of today in loc to four days after it. At any
// time of loc's day it holds today and tomorrow in every zone a screen
// may show (zones are at most 26 hours apart, and days 23 to 25 hours
// long), and it moves only at loc's midnight.
func calendarWindow(now time.Time, loc *time.Location) (time.Time, time.Time) {
	today := midnight(now.In(loc))
	return today.AddDate(0, 0, -2), today.AddDate(0, 0, 4)
}

// rounds is where an account's calendar stands in its rounds of delta.
type rounds struct {
	start, end time.Time
	// link starts the next round; "" before the first.
	link string
	// events are the events held, by start (then id, so that the same
	// events always make the same list). The account's snapshots show
	// this very slice, so it is never changed in place: a round that
	// changes the events makes a new one. One copy of each event, where
	// a map by id beside the list would hold two for as long as the
	// account is shown.
	events []graph.Event
	// version is the stored state's (0: none), stored when it was
	// written last; loaded says whether the store was read.
	version int64
	stored  time.Time
	loaded  bool
	// dirty says the rounds changed since they were stored.
	dirty bool
}

// sortedEvents returns evs by start, then id, with one event of each id:
// the last, as a round's later page holds the newer state of an event.
// Each is held without what no screen reads (unread).
func sortedEvents(evs []graph.Event) []graph.Event {
	last := make(map[string]int, len(evs))
	for i, ev := range evs {
		last[ev.ID] = i
	}
	out := make([]graph.Event, 0, len(last))
	for i, ev := range evs {
		if last[ev.ID] == i {
			out = append(out, unread(ev))
		}
	}
	slices.SortFunc(out, func(a, b graph.Event) int {
		return cmp.Or(cmp.Compare(a.Start.DateTime, b.Start.DateTime), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// unread is ev without the fields that delta returns (it has no $select)
// and that nothing reads once the round is read: the attendees, the ids
// that tie copies and occurrences together, and the change key. An
// account's events are held for as long as a screen shows it, and are
// written to the store and sent to the other replicas.
func unread(ev graph.Event) graph.Event {
	ev.Attendees, ev.ICalUID, ev.SeriesMasterID, ev.ChangeKey = nil, "", "", ""
	return ev
}

// apply makes the events held after a round that removed some and added
// or changed others (an event both removed and changed is kept, changed),
// and reports whether they changed. The slice held before is left as it
// was: a snapshot may show it.
func (r *rounds) apply(removed []string, changed []graph.Event) bool {
	drop := make(map[string]bool, len(removed)+len(changed))
	for _, id := range removed {
		drop[id] = true
	}
	for _, ev := range changed {
		drop[ev.ID] = true
	}
	kept := make([]graph.Event, 0, len(r.events)+len(changed))
	for _, ev := range r.events {
		if !drop[ev.ID] {
			kept = append(kept, ev)
		}
	}
	// An id removed that was not held is no change.
	if len(changed) == 0 && len(kept) == len(r.events) {
		return false
	}
	r.events = sortedEvents(append(kept, changed...))
	return true
}

// location is the zone of the account's window: that of the screen that
// last came to show it or changed its zone, else the server's.
func (w *watch) location() *time.Location {
	if z := w.zone.Load(); z != nil {
		return wire.Zone(*z)
	}
	return wire.Zone(w.m.cfg.TimeZone)
}

// delta reads one round of the calendar's delta into p.cal, from the
// stored state when this owner has not read it yet, and reports whether
// the events changed. A first round is read when there is no round to
// continue, when the window moved, and when Graph no longer holds the
// round's state (410, syncStateNotFound): the events held until then stay
// until the new round has read the whole window, so nothing is lost.
func (p *poller) delta(ctx context.Context, token string, now time.Time) (changed bool, err error) {
	m, c := p.m, &p.cal
	if !c.loaded {
		p.load(ctx)
	}
	start, end := calendarWindow(now, p.w.location())
	if c.link == "" || !c.start.Equal(start) || !c.end.Equal(end) {
		return true, p.first(ctx, token, start, end, now)
	}
	round, err := m.cfg.Graph.CalendarDelta(ctx, token, graph.DeltaQuery{Link: c.link, PageSize: deltaPageSize})
	if errors.Is(err, graph.ErrResync) {
		m.log.Info("the calendar's delta state is gone: its window is read again", "account", p.w.account.Username, "err", err)
		return true, p.first(ctx, token, start, end, now)
	}
	if err != nil {
		return false, err
	}
	// @removed names events deleted, declined, or moved out of the
	// window; an id not held is ignored.
	changed = c.apply(round.Removed, round.Changed)
	c.link = round.DeltaLink
	c.dirty = c.dirty || changed
	return changed, nil
}

// first reads a first round of the window, and holds its events in place
// of the others once it has them all.
func (p *poller) first(ctx context.Context, token string, start, end, now time.Time) error {
	round, err := p.m.cfg.Graph.CalendarDelta(ctx, token, graph.DeltaQuery{Start: start, End: end, PageSize: deltaPageSize})
	if err != nil {
		return err
	}
	c := &p.cal
	c.start, c.end, c.link, c.events, c.dirty = start, end, round.DeltaLink, sortedEvents(round.Changed), true
	return nil
}

// load reads where the calendar's rounds stand from the store: an owner
// that takes the account over continues from there.
func (p *poller) load(ctx context.Context) {
	c := &p.cal
	*c = rounds{loaded: true}
	st, err := p.m.cfg.Store.CalendarSync(ctx, p.w.account.ID)
	if server.IsNotFound(err) {
		return
	}
	if err != nil {
		p.m.log.Warn("reading where the calendar's rounds of delta stand: its window is read again", "account", p.w.account.Username, "err", err)
		return
	}
	var events []graph.Event
	if err := json.Unmarshal(st.Events, &events); err != nil {
		p.m.log.Warn("the stored events of the calendar's rounds do not read: its window is read again", "account", p.w.account.Username, "err", err)
		c.version = st.Version // written over by the next round
		return
	}
	c.events = sortedEvents(events)
	c.start, c.end, c.link, c.version, c.stored = st.Start, st.End, st.DeltaLink, st.Version, st.UpdatedAt
}

// store writes where the rounds stand, when they changed or the stored
// state is getting old: after the screens were told, so that the write
// does not hold them back. Another replica's newer write (it owns the
// account now) wins: this one reads the store again at its next round, if
// it still owns the account then.
func (p *poller) store(ctx context.Context, now time.Time) {
	c := &p.cal
	if c.link == "" || (!c.dirty && now.Sub(c.stored) < storeEvery) {
		return
	}
	events, err := json.Marshal(c.events)
	if err == nil {
		var v int64
		v, err = p.m.cfg.Store.PutCalendarSyncIf(ctx, server.CalendarSync{AccountID: p.w.account.ID, Start: c.start, End: c.end,
			DeltaLink: c.link, Events: events, Version: c.version, UpdatedAt: now})
		if err == nil {
			c.version, c.stored, c.dirty = v, now, false
			return
		}
	}
	if server.ErrorCode(err) == server.ECONFLICT {
		p.m.log.Info("another replica stored the calendar's rounds: this one continues from them", "account", p.w.account.Username)
		c.loaded = false
		return
	}
	// The rounds go on; the next write tries again.
	p.m.log.Warn("storing where the calendar's rounds of delta stand", "account", p.w.account.Username, "err", fmt.Errorf("screens: %w", err))
}

package screens

import (
	"sort"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/graph"
)

// tomorrowCount is how many of tomorrow's events a screen shows once today
// has nothing left.
const tomorrowCount = 3

// agendaFor is what a screen shows of an account's calendar: today's
// events in the screen's zone (all-day ones first), and tomorrow's first
// events once nothing is left today. Events Graph could not date are left
// out.
func agendaFor(events []graph.Event, now time.Time, loc *time.Location) *wire.Agenda {
	a, _ := agendaAt(events, now, loc)
	return a
}

// agendaAt is agendaFor, and until when it holds: the end of the day, or
// the end of today's last meeting when it is earlier (tomorrow's events are
// shown from then on).
func agendaAt(events []graph.Event, now time.Time, loc *time.Location) (*wire.Agenda, time.Time) {
	now = now.In(loc)
	today := midnight(now)
	tomorrow := today.AddDate(0, 0, 1)
	after := tomorrow.AddDate(0, 0, 1)

	a := &wire.Agenda{Today: []wire.Event{}}
	var next []wire.Event
	left := false
	var lastEnd time.Time
	for _, ev := range events {
		e, ok := convert(ev, loc)
		if !ok {
			continue
		}
		switch {
		case overlaps(e, today, tomorrow):
			a.Today = append(a.Today, e)
			if !e.AllDay && !e.Cancelled && e.End.After(now) {
				left = true
				if e.End.After(lastEnd) {
					lastEnd = e.End
				}
			}
		case overlaps(e, tomorrow, after):
			next = append(next, e)
		}
	}
	sortEvents(a.Today)
	if !left {
		sortEvents(next)
		a.Tomorrow = next[:min(len(next), tomorrowCount)]
	}
	until := tomorrow
	if left && lastEnd.Before(until) {
		until = lastEnd
	}
	return a, until
}

// convert reads a Graph event into what a screen shows, in loc. All-day
// events are dates (midnight to midnight in any zone): they keep their
// dates whatever zone Graph wrote them in. A private or confidential
// event keeps only its times, as Outlook shows it to others: Graph gives
// its owner everything, and a screen is not its owner's eyes only.
func convert(ev graph.Event, loc *time.Location) (wire.Event, bool) {
	e := wire.Event{
		ID: ev.ID, Subject: ev.Subject, Location: ev.Location.DisplayName,
		Organizer: ev.Organizer.EmailAddress.Name, AllDay: ev.IsAllDay, Cancelled: ev.IsCancelled,
	}
	if ev.Private() {
		e.Subject, e.Location, e.Organizer, e.Private = "", "", "", true
	}
	if ev.IsAllDay {
		start, err1 := time.ParseInLocation("2006-01-02", datePart(ev.Start.DateTime), loc)
		end, err2 := time.ParseInLocation("2006-01-02", datePart(ev.End.DateTime), loc)
		if err1 != nil || err2 != nil || !end.After(start) {
			return e, false
		}
		e.Start, e.End = start, end
		return e, true
	}
	start, err1 := ev.Start.Time()
	end, err2 := ev.End.Time()
	if err1 != nil || err2 != nil || end.Before(start) {
		return e, false
	}
	e.Start, e.End = start.UTC(), end.UTC()
	return e, true
}

func datePart(dt string) string {
	d, _, _ := strings.Cut(dt, "T")
	return d
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// overlaps reports whether an event takes place in [from, to).
func overlaps(e wire.Event, from, to time.Time) bool {
	if e.End.Equal(e.Start) {
		return !e.Start.Before(from) && e.Start.Before(to)
	}
	return e.Start.Before(to) && e.End.After(from)
}

// sortEvents puts all-day events first, then the others by start.
func sortEvents(es []wire.Event) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].AllDay != es[j].AllDay {
			return es[i].AllDay
		}
		return es[i].Start.Before(es[j].Start)
	})
}

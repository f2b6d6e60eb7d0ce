package sandbox

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
)

// TestDemoCalendarsHoldOnEveryDay walks the demo calendars over every day
// of more than two years (DST changes, month and year ends, a leap day,
// 2026-12-06), each day with today laid around another time of day, and
// checks what a dashboard relies on: a meeting now, a next one, a cancelled
// one, tomorrow never empty, meetings organised in another zone; what door
// panels and rooms boards rely on: rooms booked by people, the organiser's
// name for a subject unless the room keeps subjects, the lobby free when
// the sandbox starts and the boardroom busy, the stand-up on weekdays; and
// what a calendar is: events in the order of their start, all-day events
// from midnight to midnight in the mailbox's zone, no double booking.
// Ada, Grace, the lobby and the boardroom are walked every day, the other
// people and rooms in turn. The
// generator is driven directly (Options.Anchor), with the users it always
// has; how Graph serves and orders it is the conformance suite's walk.
func TestDemoCalendarsHoldOnEveryDay(t *testing.T) {
	t.Parallel()
	users := demoUsers()
	allDay := map[string]bool{}
	first, last := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 31, 0, 0, 0, 0, time.UTC)
	var days []time.Time
	for d, i := first, 0; !d.After(last); d, i = d.AddDate(0, 0, 1), i+1 {
		// 37 minutes later each day: every time of day comes round.
		days = append(days, d.Add(time.Duration(i*37%1440)*time.Minute))
	}
	// The day the suite once failed on, at the hours around midnight in
	// New York and London.
	for _, h := range []int{0, 1, 3, 4, 5, 6, 12, 20, 23} {
		days = append(days, time.Date(2026, 12, 6, h, 40, 0, 0, time.UTC))
	}
	// Ada, Grace, the lobby and the boardroom every day; one more person
	// and one more room in turn, each on some seventy days at as many
	// times of day.
	var people, rooms []*user
	for _, u := range (&Sandbox{users: users}).sortedUsers() {
		switch {
		case u.Room:
			rooms = append(rooms, u)
		case u.Mailbox:
			people = append(people, u)
		}
	}
	for i, now := range days {
		s := &Sandbox{opts: Options{Seed: 7}, anchor: anchorOf(Options{Anchor: now}), users: users,
			created: map[string][]*calEvent{}, removed: map[string]bool{}}
		s.index()
		walk := []*user{users["ada@"+TenantDomain], users["grace@"+TenantDomain], users["lobby@"+TenantDomain],
			users["boardroom@"+TenantDomain], people[i%len(people)], rooms[i%len(rooms)]}
		for _, u := range walk {
			check := checkDemoDay
			if u.Room {
				check = checkRoomDay
			}
			if problems := check(s, u, now, allDay); len(problems) > 0 {
				t.Errorf("%s on %s (%s there): %s", u.UPN, now.Format(time.RFC3339),
					now.In(wire.Zone(u.TimeZone)).Format("Mon 15:04"), strings.Join(problems, "; "))
			}
		}
		if t.Failed() {
			return // one day's report is enough to mend it
		}
	}
	for _, subject := range allDaySubjects {
		if !allDay[subject] {
			t.Errorf("no all-day %q in two years", subject)
		}
	}
}

// checkDemoDay reads one user's calendar around now, over the window a
// screen's watch reads, and says what is wrong with it.
func checkDemoDay(s *Sandbox, u *user, now time.Time, allDay map[string]bool) []string {
	loc := wire.Zone(u.TimeZone)
	from, to := now.Add(-38*time.Hour), now.Add(62*time.Hour)
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	tomorrowDate := now.In(loc).AddDate(0, 0, 1).Format("2006-01-02")
	var current, later, cancelled, tomorrow, abroad bool
	var last time.Time
	var booked []calEvent // meetings not cancelled
	ids := map[string]bool{}
	for _, ev := range s.eventsBetween(u, from, to) {
		if ids[ev.ID] {
			bad("%q: id %s twice", ev.Subject, ev.ID)
		}
		ids[ev.ID] = true
		if !ev.End.After(ev.Start) {
			bad("%q: from %s to %s", ev.Subject, ev.Start, ev.End)
		}
		if !ev.Start.Before(to) || !ev.End.After(from) {
			bad("%q from %s to %s is outside the window", ev.Subject, ev.Start, ev.End)
		}
		if ev.Start.Before(last) {
			bad("%q starts before the event before it", ev.Subject)
		}
		last = ev.Start
		if ev.AllDay {
			allDay[ev.Subject] = true
			start, end := ev.Start.In(loc), ev.End.In(loc)
			next := start.AddDate(0, 0, 1)
			if start.Format("15:04") != "00:00" || !end.Equal(time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, loc)) {
				bad("all-day %q: from %s to %s, not one date in %s", ev.Subject, start, end, u.TimeZone)
			}
			continue
		}
		current = current || (!ev.Start.After(now) && ev.End.After(now))
		later = later || (ev.Start.After(now) && ev.Start.Sub(now) < 12*time.Hour && !ev.Cancelled)
		tomorrow = tomorrow || (ev.Start.In(loc).Format("2006-01-02") == tomorrowDate && !ev.Cancelled)
		abroad = abroad || ev.OrgZone != u.TimeZone
		if ev.Cancelled {
			cancelled = true
			if strings.EqualFold(ev.Organizer, u.UPN) {
				bad("%q: an organiser's cancelled meeting stays in their calendar", ev.Subject)
			}
			continue
		}
		for _, b := range booked {
			if ev.Start.Before(b.End) && ev.End.After(b.Start) {
				bad("%q at %s overlaps %q at %s", ev.Subject, ev.Start.In(loc).Format("Jan 2 15:04"), b.Subject, b.Start.In(loc).Format("Jan 2 15:04"))
			}
		}
		booked = append(booked, ev)
	}
	if !current || !later || !cancelled || !tomorrow || !abroad {
		bad("now %v, later %v, cancelled %v, tomorrow %v, organised in another zone %v", current, later, cancelled, tomorrow, abroad)
	}
	return problems
}

// checkRoomDay reads one room's calendar around now and says what is wrong
// with it.
func checkRoomDay(s *Sandbox, u *user, now time.Time, _ map[string]bool) []string {
	loc := wire.Zone(u.TimeZone)
	from, to := now.Add(-38*time.Hour), now.Add(62*time.Hour)
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	tomorrow := now.In(loc).AddDate(0, 0, 1)
	var current, later, something, standUp bool
	var last time.Time
	var booked []calEvent
	ids := map[string]bool{}
	for _, ev := range s.eventsBetween(u, from, to) {
		if ids[ev.ID] {
			bad("%q: id %s twice", ev.Subject, ev.ID)
		}
		ids[ev.ID] = true
		if !ev.End.After(ev.Start) || ev.Start.Before(last) || !ev.Start.Before(to) || !ev.End.After(from) {
			bad("%q from %s to %s: out of order or of the window", ev.Subject, ev.Start, ev.End)
		}
		last = ev.Start
		org := s.users[ev.Organizer]
		switch {
		case org == nil || org.Room || org == u || ev.OrgName != org.DisplayName:
			bad("%q: organised by %s, not by a person", ev.Subject, ev.Organizer)
		case u.room.KeepSubject == (ev.Subject == org.DisplayName):
			bad("%q organised by %s: the room keeps subjects %v", ev.Subject, org.DisplayName, u.room.KeepSubject)
		case ev.Location != u.DisplayName || ev.response(u) != responseAccepted || len(ev.Attendees) != 1 ||
			ev.Attendees[0] != (attendee{Address: u.UPN, Name: u.DisplayName, Type: "resource", Response: responseAccepted}):
			bad("%q: location %q, response %s, attendees %v", ev.Subject, ev.Location, ev.response(u), ev.Attendees)
		}
		if ev.Type == typeOccurrence {
			local := ev.Start.In(loc)
			standUp = standUp || (ev.SeriesMasterID != "" && local.Format("15:04") == "08:30" && sameDay(local, tomorrow))
		}
		if ev.Cancelled {
			continue
		}
		current = current || (!ev.Start.After(now) && ev.End.After(now))
		later = later || (ev.Start.After(now) && ev.Start.Sub(now) < 12*time.Hour)
		something = something || sameDay(ev.Start.In(loc), tomorrow)
		for _, b := range booked {
			if ev.Start.Before(b.End) && ev.End.After(b.Start) {
				bad("%q at %s overlaps %q at %s", ev.Subject, ev.Start.In(loc).Format("Jan 2 15:04"), b.Subject, b.Start.In(loc).Format("Jan 2 15:04"))
			}
		}
		booked = append(booked, ev)
	}
	weekday := tomorrow.Weekday() != time.Saturday && tomorrow.Weekday() != time.Sunday
	switch {
	case u.UPN == "lobby@"+TenantDomain && (current || !later):
		bad("the lobby's day begins free with a meeting to come: busy now %v, a meeting later %v", current, later)
	case u.UPN == "boardroom@"+TenantDomain && !current:
		bad("the boardroom's day begins busy")
	case !something:
		bad("nothing tomorrow")
	case u.room.standUp && weekday && !standUp:
		bad("no stand-up at 08:30 tomorrow, a weekday")
	}
	if m, ok := s.standUpMaster(u); ok {
		if got, found := s.findEvent(u, m.ID); !found || got.Type != typeMaster || got.Recurrence == nil {
			bad("the stand-up's master: %+v", got)
		}
	}
	return problems
}

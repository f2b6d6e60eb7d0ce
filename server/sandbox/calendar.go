package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// calEvent is an event of a demo calendar.
type calEvent struct {
	ID          string
	Subject     string
	Start, End  time.Time // instants; for all-day events, midnights in the user's zone
	AllDay      bool
	Cancelled   bool
	ShowAs      string
	Sensitivity string
	Location    string
	Organizer   string // UPN or address
	OrgName     string
	// Created is true for events added through the API (kept in memory).
	Created bool
}

var meetingSubjects = []string{
	"Design review", "1:1 with Grace", "Team sync", "Quarterly planning", "Customer call: Contoso",
	"Hiring panel", "Architecture forum", "Budget check-in", "Sprint demo", "Lunch & learn",
	"Incident retro", "Roadmap walkthrough",
}

var allDaySubjects = []string{"Release week", "Company offsite", "Focus day", "Public holiday (observed)"}

var rooms = []string{"Room 4.1 Babbage", "Room 2.3 Turing", "Teams meeting", "Lobby", "Room 5.2 Hamilton"}

// eventID mimics Graph's long opaque ids ("AAMkAG..."), stable for a
// generated event so that screens can follow it from poll to poll.
func eventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "AAMkAGI2" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:38] + "AAA="
}

// dayRand is a number drawn from the seed, a user and a day: the same
// calendar comes back for the same day, on every start.
func (s *Sandbox) dayRand(upn string, day time.Time, salt string) uint64 {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d|%s|%s|%s", s.opts.Seed, upn, day.Format("2006-01-02"), salt)))
	return binary.BigEndian.Uint64(h[:8])
}

// dayEvents generates a user's events of one day (local midnight in the
// user's zone). The day that holds the sandbox's start has meetings laid
// around that moment, so that a demo always has a meeting now, a next one,
// a cancelled one and more later, whatever the time of day.
func (s *Sandbox) dayEvents(u *user, day time.Time) []calEvent {
	if !u.Mailbox {
		return nil
	}
	loc := day.Location()
	date := day.Format("2006-01-02")
	var out []calEvent
	add := func(i int, subject string, start, end time.Time, cancelled bool) {
		r := s.dayRand(u.UPN, day, fmt.Sprint("ev", i))
		org := s.users["grace@"+TenantDomain]
		if r%3 == 0 || u.Room {
			org = s.users["ada@"+TenantDomain]
		}
		out = append(out, calEvent{
			ID: eventID(u.UPN, date, fmt.Sprint(i)), Subject: subject, Start: start, End: end,
			Cancelled: cancelled, ShowAs: "busy", Sensitivity: "normal",
			Location: rooms[r%uint64(len(rooms))], Organizer: org.UPN, OrgName: org.DisplayName,
		})
	}
	r := s.dayRand(u.UPN, day, "day")
	if r%3 == 0 {
		next := day.AddDate(0, 0, 1)
		out = append(out, calEvent{
			ID: eventID(u.UPN, date, "allday"), Subject: allDaySubjects[r%uint64(len(allDaySubjects))],
			Start: day, End: time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, loc),
			AllDay: true, ShowAs: "free", Sensitivity: "normal", Organizer: u.UPN, OrgName: u.DisplayName,
		})
	}
	anchor := s.anchor.In(loc)
	if sameDay(anchor, day) {
		a := anchor
		add(0, meetingSubjects[0], a.Add(-30*time.Minute), a.Add(30*time.Minute), false)
		add(1, meetingSubjects[1+r%3], a.Add(time.Hour), a.Add(90*time.Minute), false)
		add(2, meetingSubjects[3], a.Add(2*time.Hour), a.Add(3*time.Hour), true)
		add(3, meetingSubjects[4+r%4], a.Add(4*time.Hour), a.Add(4*time.Hour+30*time.Minute), false)
		return out
	}
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return out
	}
	at := func(h, m int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc) }
	slots := []struct{ h, m, minutes int }{{9, 30, 30}, {11, 0, 60}, {14, 0, 45}, {16, 0, 30}}
	for i, sl := range slots {
		pick := s.dayRand(u.UPN, day, fmt.Sprint("slot", i))
		if pick%5 == 0 {
			continue // a free slot
		}
		start := at(sl.h, sl.m)
		add(i, meetingSubjects[pick%uint64(len(meetingSubjects))], start, start.Add(time.Duration(sl.minutes)*time.Minute), i == 3 && pick%2 == 0)
	}
	return out
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// eventsBetween returns a user's events that overlap [start, end), sorted
// by start; s.mu must be held.
func (s *Sandbox) eventsBetween(u *user, start, end time.Time) []calEvent {
	loc := zoneOf(u.TimeZone)
	var out []calEvent
	first := start.In(loc).AddDate(0, 0, -1)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	for ; day.Before(end.Add(24 * time.Hour)); day = day.AddDate(0, 0, 1) {
		for _, ev := range s.dayEvents(u, day) {
			if o, ok := s.overrides[ev.ID]; ok {
				if o == nil {
					continue // deleted
				}
				ev = *o
			}
			out = append(out, ev)
		}
	}
	for _, ev := range s.created[u.UPN] {
		out = append(out, *ev)
	}
	kept := out[:0]
	for _, ev := range out {
		if ev.Start.Before(end) && ev.End.After(start) {
			kept = append(kept, ev)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Start.Before(kept[j].Start) })
	return kept
}

// findEvent finds an event of a user by id; s.mu must be held. Generated
// events are searched in the weeks around the clock.
func (s *Sandbox) findEvent(u *user, id string) (calEvent, bool) {
	for _, ev := range s.created[u.UPN] {
		if ev.ID == id {
			return *ev, true
		}
	}
	now := s.now()
	for _, ev := range s.eventsBetween(u, now.AddDate(0, 0, -31), now.AddDate(0, 0, 62)) {
		if ev.ID == id {
			return ev, true
		}
	}
	return calEvent{}, false
}

func zoneOf(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

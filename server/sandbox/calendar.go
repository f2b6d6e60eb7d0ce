package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
)

// calEvent is an event of a demo calendar. Its fields are exported for the
// state file.
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
	// OrgZone is the organiser's zone (IANA), the event's
	// originalStartTimeZone.
	OrgZone string
	Online  bool // a Teams meeting
	// Created is when the event was made; API is true for events added
	// through Graph or the control API (kept in the state file).
	Created time.Time
	API     bool
}

var meetingSubjects = []string{
	"Design review", "1:1 with Grace", "Team sync", "Quarterly planning", "Customer call: Contoso",
	"Hiring panel", "Architecture forum", "Budget check-in", "Sprint demo", "Lunch & learn",
	"Incident retro", "Roadmap walkthrough",
}

// privateSubject is the subject of the demo's private appointment.
const privateSubject = "Doctor's appointment"

var allDaySubjects = []string{"Release week", "Company offsite", "Focus day", "Public holiday (observed)"}

var rooms = []string{"Room 4.1 Babbage", "Room 2.3 Turing", "Microsoft Teams Meeting", "Lobby", "Room 5.2 Hamilton"}

// eventID mimics Graph's long opaque ids ("AAMkAG..."), stable for a
// generated event so that screens can follow it from poll to poll.
func eventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return eventIDPrefix + base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:38] + "AAA="
}

// eventIDPrefix starts every id of an Exchange item; anything else is
// "malformed" to Graph.
const eventIDPrefix = "AAMkAGI2"

// dayRand is a number drawn from the seed, a user and a day: the same
// calendar comes back for the same day, on every start.
func (s *Sandbox) dayRand(upn string, day time.Time, salt string) uint64 {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d|%s|%s|%s", s.opts.Seed, upn, day.Format("2006-01-02"), salt)))
	return binary.BigEndian.Uint64(h[:8])
}

// organiser picks who organises a meeting in u's calendar: someone else
// for a room and for a cancelled meeting (an organiser who cancels a
// meeting deletes it from their own calendar; attendees keep it, marked
// cancelled), else now u, now a colleague in another time zone.
func (s *Sandbox) organiser(u *user, r uint64, cancelled bool) *user {
	others := []*user{}
	for _, o := range s.sortedUsers() {
		if o != u && o.Mailbox && !o.Room {
			others = append(others, o)
		}
	}
	if u.Room || cancelled || r%3 != 0 {
		return others[r%uint64(len(others))]
	}
	return u
}

// dayEvents generates a user's events of one day (local midnight in the
// user's zone). The day that holds the sandbox's start has meetings laid
// around that moment, so that a demo always has a meeting now, a next one,
// a cancelled one and more later, whatever the time of day; the day after
// always has some, so that "tomorrow" is never empty.
func (s *Sandbox) dayEvents(u *user, day time.Time) []calEvent {
	if !u.Mailbox {
		return nil
	}
	loc := day.Location()
	date := day.Format("2006-01-02")
	var out []calEvent
	add := func(i int, subject string, start, end time.Time, cancelled bool) {
		r := s.dayRand(u.UPN, day, fmt.Sprint("ev", i))
		org := s.organiser(u, r, cancelled)
		where := rooms[r%uint64(len(rooms))]
		out = append(out, calEvent{
			ID: eventID(u.UPN, date, fmt.Sprint(i)), Subject: subject, Start: start, End: end,
			Cancelled: cancelled, ShowAs: "busy", Sensitivity: "normal",
			Location: where, Organizer: org.UPN, OrgName: org.DisplayName, OrgZone: org.TimeZone,
			Online: where == "Microsoft Teams Meeting", Created: day.AddDate(0, 0, -7),
		})
	}
	r := s.dayRand(u.UPN, day, "day")
	if r%3 == 0 {
		next := day.AddDate(0, 0, 1)
		out = append(out, calEvent{
			ID: eventID(u.UPN, date, "allday"), Subject: allDaySubjects[r%uint64(len(allDaySubjects))],
			Start: day, End: time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, loc),
			AllDay: true, ShowAs: "free", Sensitivity: "normal", Organizer: u.UPN, OrgName: u.DisplayName,
			OrgZone: u.TimeZone, Created: day.AddDate(0, 0, -14),
		})
	}
	anchor := s.anchor.In(loc)
	if sameDay(anchor, day) {
		a := anchor
		add(0, meetingSubjects[0], a.Add(-30*time.Minute), a.Add(30*time.Minute), false)
		add(1, meetingSubjects[1+r%2], a.Add(time.Hour), a.Add(90*time.Minute), false)
		add(2, meetingSubjects[3], a.Add(2*time.Hour), a.Add(3*time.Hour), true)
		add(3, meetingSubjects[4+r%4], a.Add(4*time.Hour), a.Add(4*time.Hour+30*time.Minute), false)
		// A private appointment: Graph gives its subject to its owner, and
		// a screen must show it as Outlook shows it to others.
		add(4, privateSubject, a.Add(5*time.Hour), a.Add(5*time.Hour+30*time.Minute), false)
		out[len(out)-1].Sensitivity = "private"
		return out
	}
	tomorrow := sameDay(anchor.AddDate(0, 0, 1), day)
	if wd := day.Weekday(); !tomorrow && (wd == time.Saturday || wd == time.Sunday) {
		return out
	}
	at := func(h, m int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc) }
	slots := []struct{ h, m, minutes int }{{9, 30, 30}, {11, 0, 60}, {14, 0, 45}, {16, 0, 30}}
	for i, sl := range slots {
		pick := s.dayRand(u.UPN, day, fmt.Sprint("slot", i))
		if pick%5 == 0 && !(tomorrow && i < 2) {
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
// by start; s.mu must be held. Overlap is what calendarView returns:
// "events that occur or overlap with the time range".
func (s *Sandbox) eventsBetween(u *user, start, end time.Time) []calEvent {
	loc := wire.Zone(u.TimeZone)
	var out []calEvent
	first := start.In(loc).AddDate(0, 0, -1)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	for ; day.Before(end.Add(24 * time.Hour)); day = day.AddDate(0, 0, 1) {
		for _, ev := range s.dayEvents(u, day) {
			if s.removed[ev.ID] {
				continue // deleted, or cancelled by its organiser
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

// removeEvent takes an event out of a user's calendar; s.mu must be held.
func (s *Sandbox) removeEvent(u *user, ev calEvent) {
	if ev.API {
		kept := s.created[u.UPN][:0]
		for _, c := range s.created[u.UPN] {
			if c.ID != ev.ID {
				kept = append(kept, c)
			}
		}
		s.created[u.UPN] = kept
		return
	}
	s.removed[ev.ID] = true
}

// windowsZones maps IANA zones to the Windows names Outlook uses in
// originalStartTimeZone and accepts in Prefer: outlook.timezone.
// https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone
var windowsZones = map[string]string{
	"UTC":                 "UTC",
	"Europe/London":       "GMT Standard Time",
	"Europe/Paris":        "Romance Standard Time",
	"Europe/Berlin":       "W. Europe Standard Time",
	"America/New_York":    "Eastern Standard Time",
	"America/Chicago":     "Central Standard Time",
	"America/Denver":      "Mountain Standard Time",
	"America/Los_Angeles": "Pacific Standard Time",
	"Asia/Seoul":          "Korea Standard Time",
	"Asia/Tokyo":          "Tokyo Standard Time",
	"Asia/Kolkata":        "India Standard Time",
	"Australia/Sydney":    "AUS Eastern Standard Time",
}

// windowsName is the Windows name of an IANA zone, the IANA name when the
// table has none.
func windowsName(iana string) string {
	if w, ok := windowsZones[iana]; ok {
		return w
	}
	return iana
}

// zoneByName reads a zone named either way (IANA or Windows).
func zoneByName(name string) (*time.Location, bool) {
	for iana, win := range windowsZones {
		if strings.EqualFold(win, name) {
			return wire.Zone(iana), true
		}
	}
	if loc, err := time.LoadLocation(name); err == nil && name != "" && name != "Local" {
		return loc, true
	}
	return nil, false
}

package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
)

// calEvent is an event of a demo calendar: one mailbox's copy of it (the
// organiser's and each attendee's calendar hold copies of a meeting, each
// with its own id, as in Exchange). Its fields are exported for the state
// file.
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
	// Created is when the event was made; API is true for events kept in
	// the state file: added through Graph or the control API, or a
	// generated event that was changed (its generated self is then
	// removed).
	Created time.Time
	API     bool
	// Modified is when the copy last changed (zero: when it was made),
	// Seq the sandbox's change number then (delta compares it with the
	// last round's, whatever the clock says).
	Modified time.Time `json:",omitzero"`
	Seq      int64     `json:",omitempty"`
	// ICalUID is shared by every copy of a meeting ("" for the
	// generated ones, which have a copy in one calendar only).
	ICalUID string `json:",omitempty"`
	// Response is this mailbox's response ("" : organizer for the
	// organiser's copy, accepted for others) and when it was given.
	Response     string    `json:",omitempty"`
	ResponseTime time.Time `json:",omitzero"`
	// Attendees are the meeting's attendees as this copy lists them
	// (with their responses on the organiser's copy).
	Attendees []attendee `json:",omitempty"`
	// Type is singleInstance (""), occurrence, exception or
	// seriesMaster; SeriesMasterID names the master of an occurrence in
	// the same calendar, OriginalStart its place in the series.
	Type           string    `json:",omitempty"`
	SeriesMasterID string    `json:",omitempty"`
	OriginalStart  time.Time `json:",omitzero"`
	// Recurrence is a series master's pattern, Exceptions what became of
	// its occurrences in this calendar, by occurrenceKey.
	Recurrence *recurrence                  `json:",omitempty"`
	Exceptions map[string]*occurrenceChange `json:",omitempty"`
}

// Event types, as Graph's event.type names them.
// https://learn.microsoft.com/en-us/graph/api/resources/event
const (
	typeSingle     = "singleInstance"
	typeOccurrence = "occurrence"
	typeException  = "exception"
	typeMaster     = "seriesMaster"
)

// Responses, as Graph's responseStatus and attendee status name them.
// https://learn.microsoft.com/en-us/graph/api/resources/responsestatus
const (
	responseNone      = "none"
	responseOrganizer = "organizer"
	responseAccepted  = "accepted"
	responseTentative = "tentativelyAccepted"
	responseDeclined  = "declined"
)

// attendee is one attendee of a meeting.
// https://learn.microsoft.com/en-us/graph/api/resources/attendee
type attendee struct {
	Address, Name string
	// Type is required, optional or resource (a room).
	Type     string
	Response string
	Time     time.Time `json:",omitzero"`
}

// occurrenceChange is what became of one occurrence of a series in one
// calendar, as Exchange keeps exceptions.
type occurrenceChange struct {
	// Removed: declined or deleted in this calendar.
	Removed bool `json:",omitempty"`
	// Cancelled by the organiser (an attendee's copy).
	Cancelled bool `json:",omitempty"`
	// Start and End, when the organiser moved the occurrence.
	Start time.Time `json:",omitzero"`
	End   time.Time `json:",omitzero"`
	// Response is this mailbox's response to the occurrence alone.
	Response     string    `json:",omitempty"`
	ResponseTime time.Time `json:",omitzero"`
	// Attendees are the attendees' responses to the occurrence (the
	// organiser's copy), by address.
	Attendees map[string]attendee `json:",omitempty"`
	Modified  time.Time           `json:",omitzero"`
}

// response is the copy's response for owner: the organiser's copy answers
// "organizer", an attendee's copy "accepted" unless it says otherwise.
func (ev calEvent) response(owner *user) string {
	switch {
	case strings.EqualFold(ev.Organizer, owner.UPN):
		return responseOrganizer
	case ev.Response != "":
		return ev.Response
	}
	return responseAccepted
}

// modified is when the copy last changed.
func (ev calEvent) modified() time.Time {
	if ev.Modified.IsZero() {
		return ev.Created
	}
	return ev.Modified
}

// eventType is Graph's type of the copy.
func (ev calEvent) eventType() string {
	if ev.Type == "" {
		return typeSingle
	}
	return ev.Type
}

// changeKey changes whenever what Graph says of the copy changes: the
// event's changeKey and @odata.etag, and what delta compares.
func (ev calEvent) changeKey(owner *user) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%d|%d|%v|%v|%s|%s|%s|%s|%s|%s|%s", ev.ID, ev.Subject, ev.Start.UnixNano(), ev.End.UnixNano(),
		ev.AllDay, ev.Cancelled, ev.ShowAs, ev.Sensitivity, ev.Location, ev.Organizer, ev.OrgName, ev.response(owner), ev.eventType())
	for _, a := range ev.Attendees {
		fmt.Fprintf(h, "|%s %s %s", a.Address, a.Type, a.Response)
	}
	if ev.Recurrence != nil {
		fmt.Fprintf(h, "|%+v", *ev.Recurrence)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)[:12])
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
	// The bytes fmt.Sprintf("%d|%s|%s|%s") would make, without its cost:
	// a calendar is made of thousands of these.
	b := make([]byte, 0, 64)
	b = strconv.AppendUint(b, s.opts.Seed, 10)
	b = append(append(append(b, '|'), upn...), '|')
	b = day.AppendFormat(b, "2006-01-02")
	b = append(append(b, '|'), salt...)
	h := sha256.Sum256(b)
	return binary.BigEndian.Uint64(h[:8])
}

// organiser picks who organises a meeting in u's calendar: someone else
// for a room and for a cancelled meeting (an organiser who cancels a
// meeting deletes it from their own calendar; attendees keep it, marked
// cancelled), else now u, now a colleague in another time zone.
func (s *Sandbox) organiser(u *user, r uint64, cancelled bool) *user {
	switch {
	case u.Room:
		return s.people[r%uint64(len(s.people))]
	case cancelled || r%3 != 0:
		others := s.abroad[u.TimeZone]
		return others[r%uint64(len(others))]
	}
	return u
}

// dayEvents generates a user's events of one day (local midnight in the
// user's zone). The day that holds the sandbox's start has meetings laid
// around that moment, so that a demo always has a meeting now, a next one,
// a cancelled one and more later, whatever the time of day; the day after
// always has some, so that "tomorrow" is never empty. Rooms have days of
// their own (roomDay).
func (s *Sandbox) dayEvents(u *user, day time.Time) []calEvent {
	if !u.Mailbox {
		return nil
	}
	if u.Room {
		return s.roomDay(u, day)
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

// privateRoomSubject is the subject of the private meeting of a room's
// demo day.
const privateRoomSubject = "Candidate interview"

// standUp is the daily stand-up of a room's calendar: weekdays 08:30 to
// 08:45 in the room's zone since the first Monday of 2025, organised by
// Margaret Hamilton. Its occurrences are the room's; the organiser's copy
// of a generated meeting is not emulated (docs/sandbox.md).
var standUp = struct {
	subject, organiser string
	from               string // the series' first day
	hour, minute, mins int
}{"Daily stand-up", "margaret@" + TenantDomain, "2025-01-06", 8, 30, 15}

// standUpMaster is the series master of u's stand-up, when u's room has
// one.
func (s *Sandbox) standUpMaster(u *user) (calEvent, bool) {
	if !u.Room || !u.room.standUp {
		return calEvent{}, false
	}
	loc := wire.Zone(u.TimeZone)
	first, _ := time.ParseInLocation("2006-01-02", standUp.from, loc)
	start := first.Add(time.Duration(standUp.hour)*time.Hour + time.Duration(standUp.minute)*time.Minute)
	ev := s.roomMeeting(u, s.users[standUp.organiser], standUp.subject, start, start.Add(time.Duration(standUp.mins)*time.Minute))
	ev.ID = eventID(u.UPN, "standup")
	ev.Type = typeMaster
	ev.Online = true
	ev.Created = first.AddDate(0, 0, -7)
	ev.Recurrence = &recurrence{Pattern: "weekly", Interval: 1, Days: []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
		RangeType: "noEnd", StartDate: standUp.from, Zone: u.TimeZone}
	return ev, true
}

// roomMeeting is a room's copy of a meeting org booked in it, accepted by
// the room: the subject is the organiser's name unless the room keeps
// subjects (Exchange's AddOrganizerToSubject, on by default).
// https://learn.microsoft.com/en-us/powershell/module/exchange/set-calendarprocessing
func (s *Sandbox) roomMeeting(u, org *user, subject string, start, end time.Time) calEvent {
	if !u.room.KeepSubject {
		subject = org.DisplayName
	}
	return calEvent{Subject: subject, Start: start, End: end, ShowAs: "busy", Sensitivity: "normal",
		Location: u.DisplayName, Organizer: org.UPN, OrgName: org.DisplayName, OrgZone: org.TimeZone,
		Attendees: []attendee{{Address: u.UPN, Name: u.DisplayName, Type: "resource", Response: responseAccepted}},
		Response:  responseAccepted}
}

// roomDay generates a room's events of one day: meetings booked by people,
// which the room accepted in turn, declining those that overlap one it
// had accepted (AllowConflicts is off by default), so that a room is never
// double-booked; the stand-up first. On the sandbox's first day, a room's
// layout says whether it is busy now or free (the lobby's door panel
// starts free); then working days have meetings, weekends none (but for
// tomorrow, never empty).
func (s *Sandbox) roomDay(u *user, day time.Time) []calEvent {
	loc := day.Location()
	date := day.Format("2006-01-02")
	type slot struct {
		start, end time.Time
		cancelled  bool
		private    bool
	}
	var slots []slot
	anchor := s.anchor.In(loc)
	tomorrow := sameDay(anchor.AddDate(0, 0, 1), day)
	wd := day.Weekday()
	working := wd != time.Saturday && wd != time.Sunday
	at := func(d time.Duration) time.Time { return anchor.Add(d) }
	switch {
	case sameDay(anchor, day):
		const m = time.Minute
		switch u.room.layout {
		case layoutFree:
			slots = []slot{{at(-150 * m), at(-90 * m), false, false}, {at(90 * m), at(150 * m), false, false},
				{at(180 * m), at(210 * m), true, false}, {at(240 * m), at(300 * m), false, true}, {at(330 * m), at(360 * m), false, false}}
		case layoutBusy:
			slots = []slot{{at(-30 * m), at(60 * m), false, false}, {at(60 * m), at(90 * m), false, false},
				{at(150 * m), at(180 * m), true, false}, {at(210 * m), at(270 * m), false, true}}
		default:
			slots = []slot{{at(-120 * m), at(-60 * m), false, false}, {at(30 * m), at(90 * m), false, false},
				{at(120 * m), at(150 * m), true, false}, {at(180 * m), at(240 * m), false, true}}
		}
	case working || tomorrow:
		hm := func(h, m int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc) }
		for i, sl := range []struct{ h, m, minutes int }{{9, 0, 60}, {10, 0, 30}, {11, 0, 60}, {12, 30, 45}, {14, 0, 60}, {15, 30, 30}, {16, 0, 60}} {
			pick := s.dayRand(u.UPN, day, fmt.Sprint("room", i))
			if pick%3 == 0 && !(tomorrow && i < 2) {
				continue // a free slot
			}
			start := hm(sl.h, sl.m)
			slots = append(slots, slot{start, start.Add(time.Duration(sl.minutes) * time.Minute), i == 5 && pick%4 == 1, i == 4 && pick%5 == 1})
		}
	}
	var out []calEvent
	var booked [][2]time.Time
	free := func(start, end time.Time) bool {
		for _, b := range booked {
			if start.Before(b[1]) && end.After(b[0]) {
				return false
			}
		}
		return true
	}
	if master, ok := s.standUpMaster(u); ok && working {
		if occ, ok := occurrenceOn(master, day); ok {
			out = append(out, occ)
			booked = append(booked, [2]time.Time{occ.Start, occ.End})
		}
	}
	for i, sl := range slots {
		if !sl.cancelled && !free(sl.start, sl.end) {
			continue // declined: the room had accepted another meeting then
		}
		r := s.dayRand(u.UPN, day, fmt.Sprint("roomev", i))
		org := s.organiser(u, r, false)
		subject := meetingSubjects[r%uint64(len(meetingSubjects))]
		if sl.private {
			subject = privateRoomSubject
		}
		ev := s.roomMeeting(u, org, subject, sl.start, sl.end)
		ev.ID, ev.Cancelled, ev.Online, ev.Created = eventID(u.UPN, date, "room", fmt.Sprint(i)), sl.cancelled, r%2 == 0, day.AddDate(0, 0, -3)
		ev.ResponseTime = ev.Created
		if sl.private {
			// The room keeps the private flag, as with
			// RemovePrivateProperty off (Exchange clears it by default):
			// getSchedule then gives the meeting's times only.
			ev.Sensitivity = "private"
		}
		out = append(out, ev)
		if !sl.cancelled {
			booked = append(booked, [2]time.Time{sl.start, sl.end})
		}
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
// "events that occur or overlap with the time range". Series come as their
// occurrences.
func (s *Sandbox) eventsBetween(u *user, start, end time.Time) []calEvent {
	loc := wire.Zone(u.TimeZone)
	out := make([]calEvent, 0, 8*int(end.Sub(start)/(24*time.Hour)+3))
	first := start.In(loc).AddDate(0, 0, -1)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	for ; day.Before(end.Add(24 * time.Hour)); day = day.AddDate(0, 0, 1) {
		for _, ev := range s.dayEvents(u, day) {
			if s.removed[ev.ID] {
				continue // deleted, declined, or changed (and kept in created)
			}
			out = append(out, ev)
		}
	}
	for _, ev := range s.created[u.UPN] {
		if ev.Type == typeMaster {
			out = append(out, occurrences(*ev, u, start.Add(-48*time.Hour), end.Add(48*time.Hour))...)
			continue
		}
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

// findEvent finds an event of a user by id, a series master included;
// s.mu must be held. Generated events and occurrences are searched in the
// weeks around the clock.
func (s *Sandbox) findEvent(u *user, id string) (calEvent, bool) {
	for _, ev := range s.created[u.UPN] {
		if ev.ID == id {
			return *ev, true
		}
	}
	if m, ok := s.standUpMaster(u); ok && m.ID == id {
		return m, true
	}
	now := s.now()
	for _, ev := range s.eventsBetween(u, now.AddDate(0, 0, -31), now.AddDate(0, 0, 62)) {
		if ev.ID == id {
			return ev, true
		}
	}
	return calEvent{}, false
}

// stored returns the copy of ev that u's calendar keeps in the state file,
// to change it: a generated event is kept there from its first change on
// (and its generated self hidden); an occurrence of a stored series is
// its master, with the occurrence's exception. s.mu must be held.
func (s *Sandbox) stored(u *user, ev calEvent) (single *calEvent, master *calEvent, change *occurrenceChange) {
	if ev.SeriesMasterID != "" {
		for _, c := range s.created[u.UPN] {
			if c.ID == ev.SeriesMasterID {
				key := occurrenceKey(ev.OriginalStart)
				if c.Exceptions == nil {
					c.Exceptions = map[string]*occurrenceChange{}
				}
				if c.Exceptions[key] == nil {
					c.Exceptions[key] = &occurrenceChange{}
				}
				return nil, c, c.Exceptions[key]
			}
		}
	}
	for _, c := range s.created[u.UPN] {
		if c.ID == ev.ID {
			return c, nil, nil
		}
	}
	// A generated event (or an occurrence of a generated series): kept
	// from now on as it is.
	c := ev
	c.API = true
	s.removed[ev.ID] = true
	s.created[u.UPN] = append(s.created[u.UPN], &c)
	return &c, nil, nil
}

// removeEvent takes an event out of a user's calendar; s.mu must be held.
func (s *Sandbox) removeEvent(u *user, ev calEvent) {
	now := s.now()
	if ev.SeriesMasterID != "" {
		if _, master, change := s.stored(u, ev); master != nil {
			change.Removed, change.Modified = true, now
			s.touch(master)
			return
		}
	}
	kept := s.created[u.UPN][:0]
	for _, c := range s.created[u.UPN] {
		if c.ID != ev.ID {
			kept = append(kept, c)
		}
	}
	s.created[u.UPN] = kept
	s.removed[ev.ID] = true
	s.gone(u, ev)
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

// tombstone is an event that left a calendar (deleted, declined,
// cancelled by its organiser), remembered so that delta can report it
// even when it was outside a client's window: "events that are outside
// the date range and that have been added, deleted, or updated since the
// previous delta call" come as @removed too.
// https://learn.microsoft.com/en-us/graph/api/event-delta#response
type tombstone struct {
	ID  string
	Seq int64
}

// tombstoneLimit bounds a mailbox's tombstones (kept in memory only): a
// client further behind gets the ones it holds through its own window.
const tombstoneLimit = 256

// gone remembers that ev left u's calendar; s.mu must be held.
func (s *Sandbox) gone(u *user, ev calEvent) {
	ts := s.tombstones[u.UPN]
	if len(ts) == tombstoneLimit {
		ts = append(ts[:0], ts[1:]...)
	}
	s.seq++
	s.tombstones[u.UPN] = append(ts, tombstone{ID: ev.ID, Seq: s.seq})
}

// touch marks a stored copy as changed now; s.mu must be held.
func (s *Sandbox) touch(e *calEvent) {
	s.seq++
	e.Modified, e.Seq = s.now(), s.seq
}

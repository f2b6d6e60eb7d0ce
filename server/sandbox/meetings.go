package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Meetings between mailboxes, as Exchange keeps them: the organiser's
// calendar holds the meeting with its attendees and their responses; each
// attendee's calendar holds a copy with an id of its own and its own
// response. A room's mailbox answers at once, as Exchange's resource
// booking assistant does with AutomateProcessing AutoAccept (the default
// of rooms made since 2018): "free = accept; busy = decline", conflicts
// not allowed, and the organiser's name for the subject.
// https://learn.microsoft.com/en-us/powershell/module/exchange/set-calendarprocessing
//
// Generated meetings have a copy in one calendar only: changing one
// changes that copy (see docs/sandbox.md).

// bookingWindow is how far ahead a room checks a series' occurrences for
// conflicts: BookingWindowInDays, 180 days by default.
const bookingWindow = 180 * 24 * time.Hour

// newICalUID is a meeting's iCalUId, shared by its copies.
func newICalUID() string {
	return "040000008200E00074C5B7101A82E00800000000" + strings.ToUpper(strings.ReplaceAll(newGUID(), "-", ""))
}

// copyOf is attendee u's copy of a meeting whose organiser's copy is org.
func copyOf(org calEvent, u *user) calEvent {
	c := org
	c.ID = eventID(u.UPN, "copy", org.ICalUID)
	c.Response, c.ResponseTime = "notResponded", time.Time{}
	c.Attendees = slices.Clone(org.Attendees)
	c.Exceptions = nil
	if org.Recurrence != nil {
		r := *org.Recurrence
		c.Recurrence = &r
	}
	return c
}

// bookLocked puts ev, a meeting org organises, in org's calendar and sends
// it to its attendees: a person's calendar gets a copy not yet answered, a
// room answers at once. It returns the organiser's copy. s.mu must be
// held.
func (s *Sandbox) bookLocked(org *user, ev calEvent) calEvent {
	now := s.now()
	if len(ev.Attendees) > 0 {
		ev.ICalUID = newICalUID()
	}
	organiser := &ev
	s.touch(organiser)
	s.created[org.UPN] = append(s.created[org.UPN], organiser)
	for i, a := range ev.Attendees {
		u := s.users[strings.ToLower(a.Address)]
		if u == nil || !u.Mailbox || u == org {
			continue // outside the tenant, or without a mailbox: nothing to keep
		}
		c := copyOf(*organiser, u)
		s.touch(&c)
		if !u.Room {
			s.created[u.UPN] = append(s.created[u.UPN], &c)
			continue
		}
		if s.roomConflict(u, c, "") {
			organiser.Attendees[i].Response, organiser.Attendees[i].Time = responseDeclined, now
			continue
		}
		if !u.room.KeepSubject {
			c.Subject = org.DisplayName
		}
		c.Response, c.ResponseTime = responseAccepted, now
		for j := range c.Attendees {
			if strings.EqualFold(c.Attendees[j].Address, u.UPN) {
				c.Attendees[j].Response, c.Attendees[j].Time = responseAccepted, now
			}
		}
		organiser.Attendees[i].Response, organiser.Attendees[i].Time = responseAccepted, now
		s.created[u.UPN] = append(s.created[u.UPN], &c)
	}
	s.saveLocked()
	return *organiser
}

// roomConflict reports whether ev, a meeting room u is asked to hold
// (every occurrence within the booking window, for a series), overlaps a
// meeting the room has accepted, other than those with iCalUID skip (the
// meeting itself, when its times change). s.mu must be held.
func (s *Sandbox) roomConflict(u *user, ev calEvent, skip string) bool {
	spans := [][2]time.Time{{ev.Start, ev.End}}
	if ev.Recurrence != nil {
		spans = nil
		from := s.now()
		for _, occ := range occurrences(ev, u, from, from.Add(bookingWindow)) {
			spans = append(spans, [2]time.Time{occ.Start, occ.End})
		}
	}
	for _, sp := range spans {
		for _, other := range s.eventsBetween(u, sp[0], sp[1]) {
			if other.Cancelled || (skip != "" && other.ICalUID == skip) {
				continue
			}
			if other.response(u) == responseAccepted || other.response(u) == responseOrganizer {
				return true
			}
		}
	}
	return false
}

// organiserCopy finds the organiser's copy of the meeting ev is a copy of
// (its master, for an occurrence); s.mu must be held.
func (s *Sandbox) organiserCopy(ev calEvent) (*user, *calEvent) {
	if ev.ICalUID == "" {
		return nil, nil
	}
	org := s.users[strings.ToLower(ev.Organizer)]
	if org == nil {
		return nil, nil
	}
	for _, c := range s.created[org.UPN] {
		if c.ICalUID == ev.ICalUID {
			return org, c
		}
	}
	return org, nil
}

// attendeeCopies finds the attendees' copies of the meeting whose
// organiser's copy is org (their masters, for a series); s.mu must be
// held.
func (s *Sandbox) attendeeCopies(org calEvent) map[*user]*calEvent {
	out := map[*user]*calEvent{}
	if org.ICalUID == "" {
		return out
	}
	for _, a := range org.Attendees {
		u := s.users[strings.ToLower(a.Address)]
		if u == nil {
			continue
		}
		for _, c := range s.created[u.UPN] {
			if c.ICalUID == org.ICalUID {
				out[u] = c
			}
		}
	}
	return out
}

// setAttendee sets an attendee's response on the organiser's copy of a
// meeting, or of one occurrence (original, when not zero); s.mu must be
// held.
func (s *Sandbox) setAttendee(org *calEvent, address, response string, original, now time.Time) {
	s.touch(org)
	i := slices.IndexFunc(org.Attendees, func(a attendee) bool { return strings.EqualFold(a.Address, address) })
	if i < 0 {
		return
	}
	if original.IsZero() {
		org.Attendees[i].Response, org.Attendees[i].Time = response, now
		return
	}
	c := exception(org, original)
	if c.Attendees == nil {
		c.Attendees = map[string]attendee{}
	}
	a := org.Attendees[i]
	a.Response, a.Time = response, now
	c.Attendees[strings.ToLower(address)] = a
	c.Modified = now
}

// exception is master's change record of the occurrence that was to
// start at original.
func exception(master *calEvent, original time.Time) *occurrenceChange {
	if master.Exceptions == nil {
		master.Exceptions = map[string]*occurrenceChange{}
	}
	key := occurrenceKey(original)
	if master.Exceptions[key] == nil {
		master.Exceptions[key] = &occurrenceChange{}
	}
	return master.Exceptions[key]
}

// respondLocked answers, as attendee u, the meeting ev of u's calendar:
// accepted, tentativelyAccepted or declined, for one occurrence when ev is
// one. A declined meeting leaves the attendee's calendar (Exchange moves
// it to Deleted Items; an event declined through Graph is no longer found
// there, microsoft-graph-docs-contrib#7924); the organiser's copy shows
// the response. It returns why it cannot, or "". s.mu must be held.
func (s *Sandbox) respondLocked(u *user, ev calEvent, response string) string {
	if strings.EqualFold(ev.Organizer, u.UPN) {
		// The refusal's words are unconfirmed.
		return "Your request can't be completed. You can't respond to a meeting you organize."
	}
	now := s.now()
	original := time.Time{}
	if ev.SeriesMasterID != "" {
		original = ev.OriginalStart
	}
	if _, org := s.organiserCopy(ev); org != nil {
		s.setAttendee(org, u.UPN, response, original, now)
	}
	if response == responseDeclined {
		s.removeEvent(u, ev)
		s.saveLocked()
		return ""
	}
	single, master, change := s.stored(u, ev)
	if master != nil {
		change.Response, change.ResponseTime, change.Modified = response, now, now
		s.touch(master)
	} else {
		single.Response, single.ResponseTime = response, now
		s.touch(single)
		for i := range single.Attendees {
			if strings.EqualFold(single.Attendees[i].Address, u.UPN) {
				single.Attendees[i].Response, single.Attendees[i].Time = response, now
			}
		}
	}
	s.saveLocked()
	return ""
}

// cancelLocked cancels, as its organiser org, the meeting ev of org's
// calendar (one occurrence when ev is one): the organiser's copy goes to
// Deleted Items, as event-cancel says; each attendee's copy stays, marked
// cancelled (a room keeps it: RemoveCanceledMeetings is off by default).
// https://learn.microsoft.com/en-us/graph/api/event-cancel
// s.mu must be held.
func (s *Sandbox) cancelLocked(org *user, ev calEvent) {
	now := s.now()
	master := ev
	if ev.SeriesMasterID != "" {
		for _, c := range s.created[org.UPN] {
			if c.ID == ev.SeriesMasterID {
				master = *c
			}
		}
	}
	for _, c := range s.attendeeCopies(master) {
		if ev.SeriesMasterID != "" && c.Type == typeMaster {
			x := exception(c, ev.OriginalStart)
			x.Cancelled, x.Modified = true, now
		} else {
			c.Cancelled = true
		}
		s.touch(c)
	}
	s.removeEvent(org, ev)
	s.saveLocked()
}

// cancelAsOrganiser cancels the meeting ev of u's calendar as its
// organiser: u's own, or, for an attendee's copy, through the organiser's
// copy. A generated meeting has no organiser's copy: its copy in u's
// calendar is marked cancelled, as a cancellation marks it. s.mu must be
// held.
func (s *Sandbox) cancelAsOrganiser(u *user, ev calEvent) {
	if strings.EqualFold(ev.Organizer, u.UPN) {
		s.cancelLocked(u, ev)
		return
	}
	org, orgCopy := s.organiserCopy(ev)
	if orgCopy != nil {
		target := *orgCopy
		if ev.SeriesMasterID != "" {
			if occ, ok := occurrence(*orgCopy, ev.OriginalStart); ok {
				target = occ
			}
		}
		s.cancelLocked(org, target)
		return
	}
	now := s.now()
	single, master, change := s.stored(u, ev)
	if master != nil {
		change.Cancelled, change.Modified = true, now
		s.touch(master)
	} else {
		single.Cancelled = true
		s.touch(single)
	}
	s.saveLocked()
}

// moveLocked changes the times of the meeting ev that org organises (of
// one occurrence when ev is one), in every copy: a person's copy follows; a
// room accepts the new times, or declines them when they overlap another
// meeting it accepted (its copy leaves its calendar and the organiser's
// copy shows the decline). s.mu must be held.
func (s *Sandbox) moveLocked(org *user, ev calEvent, start, end time.Time) calEvent {
	now := s.now()
	single, master, change := s.stored(org, ev)
	if master != nil {
		change.Start, change.End, change.Modified = start, end, now
		s.touch(master)
	} else {
		single.Start, single.End = start, end
		s.touch(single)
	}
	orgCopy := single
	if master != nil {
		orgCopy = master
	}
	for u, c := range s.attendeeCopies(*orgCopy) {
		var theirs calEvent
		if master != nil {
			x := exception(c, ev.OriginalStart)
			x.Start, x.End, x.Modified = start, end, now
			s.touch(c)
			theirs, _ = occurrence(*c, ev.OriginalStart)
		} else {
			c.Start, c.End = start, end
			s.touch(c)
			theirs = *c
		}
		if u.Room && s.roomConflict(u, theirs, theirs.ICalUID) {
			s.removeEvent(u, theirs)
			s.setAttendee(orgCopy, u.UPN, responseDeclined, originalOf(master, ev), now)
		} else if u.Room {
			s.setAttendee(orgCopy, u.UPN, responseAccepted, originalOf(master, ev), now)
		}
	}
	s.saveLocked()
	if master != nil {
		moved, _ := occurrence(*master, ev.OriginalStart)
		return moved
	}
	return *single
}

// originalOf is ev's original start when master is its series, else zero.
func originalOf(master *calEvent, ev calEvent) time.Time {
	if master == nil {
		return time.Time{}
	}
	return ev.OriginalStart
}

// editLocked changes what the copy ev of u's calendar says besides its
// times (subject, showAs, sensitivity, location): Graph lets any mailbox
// change its own copy. An organiser's change reaches the attendees' copies,
// but a room's subject, which stays the organiser's name unless the room
// keeps subjects. s.mu must be held.
func (s *Sandbox) editLocked(u *user, ev calEvent, f func(*calEvent)) calEvent {
	single, master, _ := s.stored(u, ev)
	if master != nil {
		// An occurrence's own subject or status: kept for the whole series
		// (occurrence exceptions of these fields are not emulated).
		single = master
	}
	f(single)
	s.touch(single)
	if strings.EqualFold(ev.Organizer, u.UPN) {
		for au, c := range s.attendeeCopies(*single) {
			subject := c.Subject
			f(c)
			if au.Room && !au.room.KeepSubject {
				c.Subject = subject
			}
			s.touch(c)
		}
	}
	s.saveLocked()
	if master != nil {
		occ, _ := occurrence(*master, ev.OriginalStart)
		return occ
	}
	return *single
}

// dayEventsOf lists u's events of a date in u's zone; s.mu must be held.
func (s *Sandbox) dayEventsOf(u *user, day time.Time) []calEvent {
	return s.eventsBetween(u, day, day.AddDate(0, 0, 1))
}

// errNotOrganiser is the refusal of a change only the organiser may make.
func errNotOrganiser(what string) string {
	return fmt.Sprintf("Your request can't be completed. You need to be an organizer to %s.", what)
}

package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
)

// The control API of rooms, room lists, groups and meetings: what a test
// or a person does in Outlook, and what a test reads back.

// RoomInfo is a room as GET /sandbox/api/rooms lists it.
type RoomInfo struct {
	UPN         string `json:"upn"`
	DisplayName string `json:"display_name"`
	Capacity    int    `json:"capacity"`
	// Floor is the Places API's floorNumber; FloorLabel its floorLabel.
	Floor      int    `json:"floor"`
	FloorLabel string `json:"floor_label"`
	Building   string `json:"building"`
	TimeZone   string `json:"time_zone"`
	// KeepSubject: the room's copies of meetings keep their subjects
	// (else Exchange writes the organiser's name).
	KeepSubject bool `json:"keep_subject"`
	// RoomList is the email address of the room list the room is in.
	RoomList string `json:"room_list"`
}

// RoomListInfo is a room list as GET /sandbox/api/rooms lists it.
type RoomListInfo struct {
	Email       string   `json:"email"`
	DisplayName string   `json:"display_name"`
	Rooms       []string `json:"rooms"`
}

// RoomsInfo is GET /sandbox/api/rooms.
type RoomsInfo struct {
	Rooms     []RoomInfo     `json:"rooms"`
	RoomLists []RoomListInfo `json:"room_lists"`
}

// Rooms lists the rooms and room lists of the demo tenant.
func (s *Sandbox) Rooms() RoomsInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := RoomsInfo{Rooms: []RoomInfo{}, RoomLists: []RoomListInfo{}}
	for _, l := range s.roomLists {
		out.RoomLists = append(out.RoomLists, RoomListInfo{Email: l.Email, DisplayName: l.DisplayName, Rooms: append([]string{}, l.Rooms...)})
		for _, upn := range l.Rooms {
			out.Rooms = append(out.Rooms, roomInfoOf(s.users[upn]))
		}
	}
	return out
}

func roomInfoOf(u *user) RoomInfo {
	ri := u.room
	return RoomInfo{UPN: u.UPN, DisplayName: u.DisplayName, Capacity: ri.Capacity, Floor: ri.FloorNumber, FloorLabel: ri.FloorLabel,
		Building: ri.Building, TimeZone: u.TimeZone, KeepSubject: ri.KeepSubject, RoomList: ri.List}
}

func (s *Sandbox) getRooms(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Rooms())
}

// errNotRoom is returned for a UPN that is not a room of the demo tenant.
var errNotRoom = errors.New("not a room of the demo tenant")

// SetRoomKeepsSubject sets whether a room's copies of meetings keep their
// subjects (Set-CalendarProcessing's AddOrganizerToSubject and
// DeleteSubject turned off) or show the organiser's name (Exchange's
// default). It applies to meetings booked from now on and to the demo
// calendar's meetings, and is kept across restarts.
func (s *Sandbox) SetRoomKeepsSubject(upn string, keep bool) (RoomInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(upn)
	if err != nil {
		return RoomInfo{}, err
	}
	if !u.Room {
		return RoomInfo{}, fmt.Errorf("%s: %w", upn, errNotRoom)
	}
	u.room.KeepSubject = keep
	s.saveLocked()
	return roomInfoOf(u), nil
}

func (s *Sandbox) putRoom(w http.ResponseWriter, r *http.Request) {
	var body struct {
		KeepSubject *bool `json:"keep_subject"`
	}
	if err := decodeBody(r, &body); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.KeepSubject == nil {
		apiError(w, http.StatusBadRequest, `send {"keep_subject": true or false}`)
		return
	}
	ri, err := s.SetRoomKeepsSubject(r.PathValue("upn"), *body.KeepSubject)
	if err != nil {
		apiError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ri)
}

// GroupInfo is a group as GET /sandbox/api/groups lists it.
type GroupInfo struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"display_name"`
	Mail        string   `json:"mail"`
	Members     []string `json:"members"`
}

// Groups lists the groups of the demo tenant.
func (s *Sandbox) Groups() []GroupInfo {
	out := []GroupInfo{}
	for _, g := range s.groups {
		out = append(out, GroupInfo{ID: g.ID, DisplayName: g.DisplayName, Mail: g.Mail, Members: append([]string{}, g.Members...)})
	}
	return out
}

func (s *Sandbox) getGroups(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Groups())
}

// Event is an event of a demo calendar as the sandbox's Go API gives it:
// one mailbox's copy, as Graph describes it.
type Event struct {
	ID      string
	ICalUID string
	Subject string
	// Start and End are instants; an all-day event's are midnights in
	// the mailbox's zone.
	Start, End  time.Time
	IsAllDay    bool
	IsCancelled bool
	// Organizer is the organiser's address; IsOrganizer says whether the
	// mailbox is it.
	Organizer   string
	IsOrganizer bool
	// Response is the mailbox's own response: organizer, accepted,
	// tentativelyAccepted, notResponded.
	Response    string
	ShowAs      string
	Sensitivity string
	// Type is singleInstance, occurrence, exception or seriesMaster.
	Type           string
	SeriesMasterID string
	Attendees      []Attendee
}

// Attendee is an attendee of an Event and its response, as the copy knows
// it (the organiser's copy knows everyone's).
type Attendee struct {
	Address, Type, Response string
}

// eventOf is ev, of owner's calendar, as Event.
func eventOf(ev calEvent, owner *user) Event {
	e := Event{ID: ev.ID, ICalUID: ev.ICalUID, Subject: ev.Subject, Start: ev.Start, End: ev.End, IsAllDay: ev.AllDay,
		IsCancelled: ev.Cancelled, Organizer: ev.Organizer, IsOrganizer: strings.EqualFold(ev.Organizer, owner.UPN),
		Response: ev.response(owner), ShowAs: ev.ShowAs, Sensitivity: ev.Sensitivity, Type: ev.eventType(), SeriesMasterID: ev.SeriesMasterID}
	for _, a := range ev.Attendees {
		r := a.Response
		if r == "" {
			r = responseNone
		}
		e.Attendees = append(e.Attendees, Attendee{Address: a.Address, Type: a.Type, Response: r})
	}
	return e
}

// AttendeeResponse is the response of an attendee as the event says it, ""
// when the address is not an attendee.
func (e Event) AttendeeResponse(address string) string {
	for _, a := range e.Attendees {
		if strings.EqualFold(a.Address, address) {
			return a.Response
		}
	}
	return ""
}

// ErrDeclined is returned when a room declines a meeting booked in it:
// the room had accepted another meeting at that time.
var ErrDeclined = errors.New("the room declined the meeting: it has accepted another at that time")

// Booking is a meeting booked in a room as its organiser books it from
// Outlook: the organiser's calendar holds it, the room is an attendee.
type Booking struct {
	Organizer  string // UPN
	Subject    string
	Start, End time.Time
	// Sensitivity is normal (the default), personal, private or
	// confidential.
	Sensitivity string
}

// BookRoom books a meeting in a room as b.Organizer, as from Outlook, and
// returns the room's copy (its id is the one the room's calendar has).
// When the room declines it (it overlaps a meeting the room accepted), the
// error is ErrDeclined and the organiser's calendar keeps the meeting with
// the room's decline.
func (s *Sandbox) BookRoom(room string, b Booking) (Event, error) {
	body, err := json.Marshal(map[string]any{
		"subject":     b.Subject,
		"start":       map[string]string{"dateTime": b.Start.UTC().Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
		"end":         map[string]string{"dateTime": b.End.UTC().Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
		"sensitivity": b.Sensitivity,
	})
	if err != nil {
		return Event{}, err
	}
	ev, owner, err := s.bookAs(room, b.Organizer, body)
	if err != nil {
		return Event{}, err
	}
	return eventOf(ev, owner), nil
}

// bookAs books a Graph event body in mailbox's calendar: as organizer with
// mailbox as an attendee when organizer is set, else as mailbox itself. It
// returns mailbox's copy and mailbox; when the room declined, the error is
// ErrDeclined and the copy is the organiser's, with the organiser.
func (s *Sandbox) bookAs(mailbox, organizer string, body []byte) (calEvent, *user, error) {
	s.mu.Lock()
	u, err := s.userLocked(mailbox)
	var org *user
	if err == nil && organizer != "" {
		org, err = s.userLocked(organizer)
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		return calEvent{}, nil, err
	case !u.Mailbox:
		return calEvent{}, nil, fmt.Errorf("%s has no mailbox, so no calendar", u.UPN)
	case org == nil || org == u:
		org = u
	case !org.Mailbox || org.Room:
		return calEvent{}, nil, fmt.Errorf("%s cannot organise a meeting: organizer names a person with a mailbox", org.UPN)
	}
	ev, _, bad := readNewEvent(bytes.NewReader(body), org, s.Now(), s.nameOf)
	if bad != "" {
		return calEvent{}, nil, errors.New(bad)
	}
	if org != u {
		typ := "required"
		if u.Room {
			typ = "resource"
		}
		ev.Attendees = append(ev.Attendees, attendee{Address: u.UPN, Name: u.DisplayName, Type: typ, Response: responseNone})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	orgCopy := s.bookLocked(org, ev)
	if org == u {
		return orgCopy, u, nil
	}
	for _, c := range s.created[u.UPN] {
		if c.ICalUID == orgCopy.ICalUID {
			return *c, u, nil
		}
	}
	return orgCopy, org, fmt.Errorf("%s: %w", u.UPN, ErrDeclined)
}

// postUserEvent is the control API's POST /sandbox/api/users/{upn}/events:
// a Graph event body added to the user's calendar, answered as Graph
// would write it, in UTC. With "organizer": "<upn>", the meeting is booked
// by that user with {upn} as an attendee, as from Outlook: the answer is
// {upn}'s copy, which a room has accepted; a room that declines it (it
// overlaps a meeting the room accepted) is 409, with the organiser's copy.
func (s *Sandbox) postUserEvent(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		apiError(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		apiError(w, http.StatusBadRequest, "body is not a JSON object: "+err.Error())
		return
	}
	organizer := ""
	if o, ok := fields["organizer"]; ok {
		if err := json.Unmarshal(o, &organizer); err != nil {
			apiError(w, http.StatusBadRequest, `"organizer" is the UPN of the user who books the meeting, as a string`)
			return
		}
		delete(fields, "organizer")
		if raw, err = json.Marshal(fields); err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	ev, owner, err := s.bookAs(r.PathValue("upn"), organizer, raw)
	switch {
	case errors.Is(err, ErrDeclined):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error() + "; the organiser's calendar keeps it, with the decline",
			"organizer_event": eventJSON(ev, owner, time.UTC, "UTC")})
	case errors.Is(err, errNoUser):
		apiError(w, http.StatusNotFound, err.Error())
	case err != nil && strings.Contains(err.Error(), "no mailbox"):
		apiError(w, http.StatusConflict, err.Error())
	case err != nil:
		apiError(w, http.StatusBadRequest, err.Error())
	default:
		writeJSON(w, http.StatusCreated, eventJSON(ev, owner, time.UTC, "UTC"))
	}
}

// DayEvents lists a user's events of a date (YYYY-MM-DD, in the user's
// mailbox zone; today when ""), each with its response and its attendees'.
func (s *Sandbox) DayEvents(upn, date string) ([]Event, error) {
	evs, u, err := s.eventsOfDate(upn, date)
	out := []Event{}
	for _, ev := range evs {
		out = append(out, eventOf(ev, u))
	}
	return out, err
}

// eventsOfDate is DayEvents's events and their mailbox.
func (s *Sandbox) eventsOfDate(upn, date string) ([]calEvent, *user, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(upn)
	if err != nil {
		return nil, nil, err
	}
	if !u.Mailbox {
		return nil, nil, fmt.Errorf("%s has no mailbox, so no calendar", u.UPN)
	}
	loc := wire.Zone(u.TimeZone)
	if date == "" {
		date = s.now().In(loc).Format("2006-01-02")
	}
	day, err := time.ParseInLocation("2006-01-02", date, loc)
	if err != nil {
		return nil, nil, fmt.Errorf("date %q is not a date such as 2026-03-02", date)
	}
	return s.dayEventsOf(u, day), u, nil
}

// getUserEvents is GET /sandbox/api/users/{upn}/events?date=YYYY-MM-DD.
func (s *Sandbox) getUserEvents(w http.ResponseWriter, r *http.Request) {
	evs, u, err := s.eventsOfDate(r.PathValue("upn"), r.URL.Query().Get("date"))
	switch {
	case errors.Is(err, errNoUser):
		apiError(w, http.StatusNotFound, err.Error())
	case err != nil && strings.Contains(err.Error(), "no mailbox"):
		apiError(w, http.StatusConflict, err.Error())
	case err != nil:
		apiError(w, http.StatusBadRequest, err.Error())
	default:
		out := []map[string]any{}
		for _, ev := range evs {
			out = append(out, eventJSON(ev, u, time.UTC, "UTC"))
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
	}
}

// errNoEvent is returned for an event id a calendar does not hold.
var errNoEvent = errors.New("no such event")

// CancelMeeting cancels the event id of a user's calendar as its
// organiser would (a room's copy stays, marked cancelled, as Exchange
// keeps it): the user's own meeting, or the meeting a room's or an
// attendee's copy belongs to. A meeting of the demo calendar, which has no
// organiser's copy, is marked cancelled in the user's calendar.
func (s *Sandbox) CancelMeeting(upn, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(upn)
	if err != nil {
		return err
	}
	ev, ok := s.findEvent(u, id)
	if !ok {
		return fmt.Errorf("%w %q in %s's calendar", errNoEvent, id, u.UPN)
	}
	s.cancelAsOrganiser(u, ev)
	return nil
}

// deleteUserEvent is DELETE /sandbox/api/users/{upn}/events/{id}.
func (s *Sandbox) deleteUserEvent(w http.ResponseWriter, r *http.Request) {
	switch err := s.CancelMeeting(r.PathValue("upn"), r.PathValue("id")); {
	case errors.Is(err, errNoUser), errors.Is(err, errNoEvent):
		apiError(w, http.StatusNotFound, err.Error())
	case err != nil:
		apiError(w, http.StatusBadRequest, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

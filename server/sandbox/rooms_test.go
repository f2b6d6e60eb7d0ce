package sandbox_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// monday is a fixed sandbox clock: Monday 2 March 2026, 10:05 UTC (11:05 in
// the lobby's Paris). The lobby's demo day then has nothing before 11:30
// UTC.
var monday = time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC)

func mondaySandbox(t *testing.T) (*sandbox.Sandbox, *http.Client) {
	t.Helper()
	return newSandbox(t, func(o *sandbox.Options) { o.Now = func() time.Time { return monday } })
}

// graphAs returns a function that sends a Graph request as upn, with
// Calendars.ReadWrite, times in UTC.
func graphAs(t *testing.T, sb *sandbox.Sandbox, c *http.Client, upn string) func(method, path, body string) answer {
	auth := bearer(t, sb, upn, "Calendars.ReadWrite", "User.Read")
	return func(method, path, body string) answer {
		t.Helper()
		return send(t, c, method, graphBase+path, body, "Authorization", auth, "Prefer", `outlook.timezone="UTC"`)
	}
}

// dayOf lists upn's events of the sandbox's today, as the control API does.
func dayOf(t *testing.T, sb *sandbox.Sandbox, upn string) []sandbox.Event {
	t.Helper()
	evs, err := sb.DayEvents(upn, "")
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// find is the first event f holds for, or the zero Event.
func find(evs []sandbox.Event, f func(sandbox.Event) bool) (sandbox.Event, bool) {
	i := slices.IndexFunc(evs, f)
	if i < 0 {
		return sandbox.Event{}, false
	}
	return evs[i], true
}

func withID(id string) func(sandbox.Event) bool {
	return func(e sandbox.Event) bool { return e.ID == id }
}

func withICal(uid string) func(sandbox.Event) bool {
	return func(e sandbox.Event) bool { return e.ICalUID == uid }
}

func withSubject(subject string) func(sandbox.Event) bool {
	return func(e sandbox.Event) bool { return e.Subject == subject }
}

// statusOf is an attendee's response on a copy of a meeting, as Graph
// writes it.
func statusOf(ev map[string]any, address string) string {
	for _, a := range ev["attendees"].([]any) {
		m := a.(map[string]any)
		if m["emailAddress"].(map[string]any)["address"] == address {
			return m["status"].(map[string]any)["response"].(string)
		}
	}
	return ""
}

func response(ev map[string]any) string {
	return ev["responseStatus"].(map[string]any)["response"].(string)
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

func eventBody(subject string, start, end time.Time, extra string) string {
	return fmt.Sprintf(`{"subject":%q,"start":{"dateTime":%q,"timeZone":"UTC"},"end":{"dateTime":%q,"timeZone":"UTC"}%s}`,
		subject, utc(start), utc(end), extra)
}

func TestARoomAcceptsWhatOutlookBooksAndDeclinesConflicts(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	start := monday.Add(3 * time.Minute)
	room, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: ada, Subject: "Quarterly numbers", Start: start, End: start.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// The room's copy: the organiser's name for a subject (Exchange's
	// AddOrganizerToSubject), accepted, an id of the room's calendar.
	if room.Subject != "Ada Lovelace" || room.Response != "accepted" || room.IsOrganizer || room.AttendeeResponse(lobby) != "accepted" {
		t.Errorf("the room's copy: %+v", room)
	}
	if _, ok := find(dayOf(t, sb, lobby), withID(room.ID)); !ok {
		t.Fatalf("the room's calendar has no event %s", room.ID)
	}
	view := graphAs(t, sb, c, lobby)("GET", "/me/calendarView?startDateTime="+utc(start)+"&endDateTime="+utc(start.Add(time.Minute)), "")
	if ids := fmt.Sprint(view.body["value"]); !strings.Contains(ids, room.ID) {
		t.Errorf("the room's calendarView: %s", view.raw)
	}
	// The organiser's copy keeps the subject and shows the room's answer.
	ada0, ok := find(dayOf(t, sb, ada), withICal(room.ICalUID))
	if !ok || ada0.Subject != "Quarterly numbers" || ada0.Response != "organizer" || ada0.AttendeeResponse(lobby) != "accepted" || ada0.ID == room.ID {
		t.Fatalf("the organiser's copy: %+v", ada0)
	}

	// Grace books over it: the room declines (AllowConflicts is off);
	// her calendar keeps the meeting with the decline.
	_, err = sb.BookRoom(lobby, sandbox.Booking{Organizer: grace, Subject: "Clash", Start: start.Add(10 * time.Minute), End: start.Add(40 * time.Minute)})
	if !errors.Is(err, sandbox.ErrDeclined) {
		t.Fatalf("an overlapping booking: %v, want ErrDeclined", err)
	}
	if g, _ := find(dayOf(t, sb, grace), withSubject("Clash")); g.AttendeeResponse(lobby) != "declined" {
		t.Errorf("Grace's copy of the declined booking: %+v", g)
	}
	if _, ok := find(dayOf(t, sb, lobby), withSubject("Grace Hopper")); ok {
		t.Error("the room holds a meeting it declined")
	}

	// A room that keeps subjects, and the switch.
	atelier := "atelier@placard.example"
	kept, err := sb.BookRoom(atelier, sandbox.Booking{Organizer: grace, Subject: "Kept subject", Start: start, End: start.Add(time.Hour)})
	if err != nil && !errors.Is(err, sandbox.ErrDeclined) {
		t.Fatal(err)
	}
	if err == nil && kept.Subject != "Kept subject" {
		t.Errorf("the atelier keeps subjects: %v", kept.Subject)
	}
	if _, err := sb.SetRoomKeepsSubject(lobby, true); err != nil {
		t.Fatal(err)
	}
	later := start.Add(2 * time.Hour * 24)
	now, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: grace, Subject: "Now kept", Start: later, End: later.Add(15 * time.Minute)})
	if err != nil || now.Subject != "Now kept" {
		t.Errorf("after the switch: %v %v", now.Subject, err)
	}
}

func TestControlAPIBooksAndCancelsAsTheOrganiser(t *testing.T) {
	t.Parallel()
	sb, _ := mondaySandbox(t)
	srv, c := controlServer(t, sb)
	api := srv.URL + "/sandbox/api/users/"
	start := monday.Add(3 * time.Minute)
	a := send(t, c, "POST", api+lobby+"/events", eventBody("From Outlook", start, start.Add(30*time.Minute), `,"organizer":"`+ada+`"`))
	if a.status != 201 || a.body["subject"] != "Ada Lovelace" || response(a.body) != "accepted" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	id := a.body["id"].(string)
	clash := send(t, c, "POST", api+lobby+"/events", eventBody("Clash", start, start.Add(time.Hour), `,"organizer":"`+grace+`"`))
	if clash.status != 409 || clash.body["organizer_event"] == nil || !strings.Contains(clash.body["error"].(string), "declined") {
		t.Errorf("a clash: %d %s", clash.status, clash.raw)
	}
	for body, status := range map[string]int{
		eventBody("x", start, start.Add(time.Hour), `,"organizer":"nobody@placard.example"`): 404,
		eventBody("x", start, start.Add(time.Hour), `,"organizer":"studio@placard.example"`): 400,
		eventBody("x", start, start.Add(time.Hour), `,"organizer":42`):                       400,
	} {
		if a := send(t, c, "POST", api+lobby+"/events", body); a.status != status || a.body["error"] == nil {
			t.Errorf("%s: %d %s, want %d", body, a.status, a.raw, status)
		}
	}

	day := get(t, c, api+lobby+"/events?date="+monday.In(paris(t)).Format("2006-01-02"))
	var list struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(day.raw, &list); err != nil || !slices.ContainsFunc(list.Value, func(ev map[string]any) bool { return ev["id"] == id }) {
		t.Fatalf("the room's day: %d %s", day.status, day.raw)
	}
	for _, ev := range list.Value {
		if ev["responseStatus"] == nil {
			t.Errorf("an event without its responseStatus: %v", ev)
		}
	}
	if a := get(t, c, api+lobby+"/events?date=monday"); a.status != 400 {
		t.Errorf("a bad date: %d", a.status)
	}

	// Cancelled by its organiser: the room keeps its copy, marked
	// cancelled; the organiser's copy goes.
	if a := send(t, c, "DELETE", api+lobby+"/events/"+id, ""); a.status != 204 {
		t.Fatalf("DELETE: %d %s", a.status, a.raw)
	}
	if cancelled, ok := find(dayOf(t, sb, lobby), withID(id)); !ok || !cancelled.IsCancelled {
		t.Errorf("the room's copy after the cancellation: %+v", cancelled)
	}
	if _, ok := find(dayOf(t, sb, ada), withSubject("From Outlook")); ok {
		t.Error("the organiser's cancelled meeting stays in her calendar")
	}
	if a := send(t, c, "DELETE", api+lobby+"/events/AAMkAGI2nothing", ""); a.status != 404 {
		t.Errorf("an unknown id: %d", a.status)
	}
}

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestTheRoomsOwnAccountBooksExtendsAndAnswers(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	room, ada0 := graphAs(t, sb, c, lobby), graphAs(t, sb, c, ada)
	start := monday.Add(5 * time.Minute)

	// Book now, as the room: the room organises it and may move it.
	booked := room("POST", "/me/events", eventBody("Booked at the door", start, start.Add(30*time.Minute), ""))
	if booked.status != 201 || booked.body["isOrganizer"] != true {
		t.Fatalf("book now: %d %s", booked.status, booked.raw)
	}
	id := booked.body["id"].(string)
	ext := room("PATCH", "/me/events/"+id, `{"end":{"dateTime":"`+utc(start.Add(45*time.Minute))+`","timeZone":"UTC"}}`)
	if ext.status != 200 || ext.body["end"].(map[string]any)["dateTime"] != start.Add(45*time.Minute).Format("2006-01-02T15:04:05.0000000") {
		t.Errorf("extend: %d %s", ext.status, ext.raw)
	}

	// Someone else's meeting: the room may answer it, not move or cancel
	// it.
	m0, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: ada, Subject: "Review", Start: start.Add(50 * time.Minute), End: start.Add(75 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	mid := m0.ID
	msg := wantGraph(t, room("PATCH", "/me/events/"+mid, `{"end":{"dateTime":"`+utc(start.Add(80*time.Minute))+`","timeZone":"UTC"}}`), 400, "ErrorInvalidRequest")
	if !strings.Contains(msg, "organizer") {
		t.Errorf("an attendee moving a meeting: %q", msg)
	}
	wantGraph(t, room("POST", "/me/events/"+mid+"/cancel", `{"comment":"no"}`), 400, "ErrorAccessDenied")
	if a := room("PATCH", "/me/events/"+mid, `{"subject":"Relabelled"}`); a.status != 200 || a.body["subject"] != "Relabelled" {
		t.Errorf("an attendee changing its own copy's subject: %d %s", a.status, a.raw)
	}
	wantGraph(t, room("PATCH", "/me/events/"+mid, `{"colour":"red"}`), 400, "RequestBodyRead")

	if a := room("POST", "/me/events/"+mid+"/tentativelyAccept", `{"comment":"maybe","sendResponse":true}`); a.status != 202 {
		t.Fatalf("tentativelyAccept: %d %s", a.status, a.raw)
	}
	if ev, _ := find(dayOf(t, sb, ada), withICal(m0.ICalUID)); ev.AttendeeResponse(lobby) != "tentativelyAccepted" {
		t.Errorf("the organiser's copy after tentativelyAccept: %+v", ev)
	}
	if ev, _ := find(dayOf(t, sb, lobby), withID(mid)); ev.Response != "tentativelyAccepted" {
		t.Errorf("the room's copy after tentativelyAccept: %+v", ev)
	}

	// The organiser moves it: the room's copy follows (12:40 to 13:00 UTC,
	// free in the room's demo day).
	org, _ := find(dayOf(t, sb, ada), withICal(m0.ICalUID))
	orgID := org.ID
	if a := ada0("PATCH", "/me/events/"+orgID, `{"start":{"dateTime":"`+utc(start.Add(150*time.Minute))+`","timeZone":"UTC"},"end":{"dateTime":"`+utc(start.Add(170*time.Minute))+`","timeZone":"UTC"}}`); a.status != 200 {
		t.Fatalf("the organiser moves it: %d %s", a.status, a.raw)
	}
	if ev, _ := find(dayOf(t, sb, lobby), withID(mid)); !ev.Start.Equal(start.Add(150 * time.Minute)) {
		t.Errorf("the room's copy after the move: %+v", ev)
	}
	// ... onto the room's demo meeting (11:30 to 12:30 UTC): the room
	// declines the new times.
	clash := time.Date(2026, 3, 2, 11, 45, 0, 0, time.UTC)
	if a := ada0("PATCH", "/me/events/"+orgID, `{"start":{"dateTime":"`+utc(clash)+`","timeZone":"UTC"},"end":{"dateTime":"`+utc(clash.Add(30*time.Minute))+`","timeZone":"UTC"}}`); a.status != 200 {
		t.Fatalf("the organiser moves it again: %d %s", a.status, a.raw)
	}
	_, kept := find(dayOf(t, sb, lobby), withID(mid))
	if org, _ := find(dayOf(t, sb, ada), withID(orgID)); kept || org.AttendeeResponse(lobby) != "declined" {
		t.Errorf("the room kept a meeting moved onto another it had accepted: %+v", org)
	}

	// Declined by the room: it leaves the room's calendar, and the
	// organiser's copy shows the decline.
	m1, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: grace, Subject: "No-show", Start: start.Add(46 * time.Minute), End: start.Add(58 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if a := room("POST", "/me/events/"+m1.ID+"/decline", `{"comment":"Released: nobody checked in","sendResponse":true}`); a.status != 202 {
		t.Fatalf("decline: %d %s", a.status, a.raw)
	}
	if _, ok := find(dayOf(t, sb, lobby), withID(m1.ID)); ok {
		t.Error("the room's calendar keeps a meeting it declined")
	}
	if ev, _ := find(dayOf(t, sb, grace), withICal(m1.ICalUID)); ev.AttendeeResponse(lobby) != "declined" {
		t.Errorf("the organiser's copy after the decline: %+v", ev)
	}
	wantGraph(t, room("POST", "/me/events/"+m1.ID+"/accept", ``), 404, "ErrorItemNotFound")
	wantGraph(t, room("POST", "/me/events/"+id+"/accept", ``), 400, "ErrorInvalidRequest")

	// Cancelled by the room, its own booking: gone.
	if a := room("POST", "/me/events/"+id+"/cancel", `{"comment":"ended early"}`); a.status != 202 {
		t.Errorf("the room cancels its own booking: %d %s", a.status, a.raw)
	}
	wantGraph(t, room("GET", "/me/events/"+id, ""), 404, "ErrorItemNotFound")
}

func TestOnlyThatOccurrenceIsDeclined(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	room, ada0 := graphAs(t, sb, c, lobby), graphAs(t, sb, c, ada)
	// Ada books an early meeting in the lobby for five days: before the
	// lobby's demo meetings, so that it accepts the series.
	first := time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC)
	a := ada0("POST", "/me/events", eventBody("Early sync", first, first.Add(30*time.Minute),
		`,"attendees":[{"type":"resource","emailAddress":{"address":"`+lobby+`"}}],`+
			`"recurrence":{"pattern":{"type":"daily","interval":1},"range":{"type":"numbered","startDate":"2026-03-03","numberOfOccurrences":5}}`))
	if a.status != 201 || a.body["type"] != "seriesMaster" || statusOf(a.body, lobby) != "accepted" {
		t.Fatalf("booking a series: %d %s", a.status, a.raw)
	}
	window := "?startDateTime=2026-03-02T00:00:00Z&endDateTime=2026-03-10T00:00:00Z&$top=100"
	occurrences := func(get func(string, string, string) answer) []map[string]any {
		t.Helper()
		v := get("GET", "/me/calendarView"+window, "")
		var out []map[string]any
		for _, e := range v.body["value"].([]any) {
			ev := e.(map[string]any)
			if ev["iCalUId"] == a.body["iCalUId"] {
				out = append(out, ev)
			}
		}
		return out
	}
	roomOcc := occurrences(room)
	if len(roomOcc) != 5 || roomOcc[1]["type"] != "occurrence" || roomOcc[1]["seriesMasterId"] == nil || roomOcc[1]["subject"] != "Ada Lovelace" {
		t.Fatalf("the room's occurrences: %v", roomOcc)
	}
	master := room("GET", "/me/events/"+roomOcc[1]["seriesMasterId"].(string), "")
	if master.status != 200 || master.body["type"] != "seriesMaster" || master.body["recurrence"] == nil {
		t.Errorf("the room's series master: %d %s", master.status, master.raw)
	}
	if a := room("POST", "/me/events/"+roomOcc[1]["id"].(string)+"/decline", `{"comment":"Released"}`); a.status != 202 {
		t.Fatalf("declining an occurrence: %d %s", a.status, a.raw)
	}
	after := occurrences(room)
	if len(after) != 4 || slices.ContainsFunc(after, func(ev map[string]any) bool { return ev["id"] == roomOcc[1]["id"] }) {
		t.Errorf("the room's occurrences after declining the second: %d", len(after))
	}
	adaOcc := occurrences(ada0)
	if len(adaOcc) != 5 {
		t.Fatalf("the organiser's occurrences: %d", len(adaOcc))
	}
	for i, ev := range adaOcc {
		want := "accepted"
		if i == 1 {
			want = "declined"
		}
		if got := statusOf(ev, lobby); got != want {
			t.Errorf("the organiser's occurrence %d: the room %s, want %s", i, got, want)
		}
	}
	// The organiser cancels the fourth: the room's copy of it is marked
	// cancelled, the others not.
	if a := ada0("POST", "/me/events/"+adaOcc[3]["id"].(string)+"/cancel", ``); a.status != 202 {
		t.Fatalf("cancelling an occurrence: %d %s", a.status, a.raw)
	}
	for _, ev := range occurrences(room) {
		if got, want := ev["isCancelled"], fmt.Sprint(ev["start"]) == fmt.Sprint(adaOcc[3]["start"]); got != want {
			t.Errorf("the room's occurrence of %v: cancelled %v, want %v", ev["start"], got, want)
		}
	}

	// The demo's stand-up: a generated series of the studio.
	studio := graphAs(t, sb, c, "studio@placard.example")
	v := studio("GET", "/me/calendarView"+window, "")
	var ups []map[string]any
	for _, e := range v.body["value"].([]any) {
		if ev := e.(map[string]any); ev["type"] == "occurrence" {
			ups = append(ups, ev)
		}
	}
	if len(ups) != 6 {
		t.Fatalf("%d stand-ups from Monday to the next Monday", len(ups))
	}
	if a := studio("POST", "/me/events/"+ups[2]["id"].(string)+"/decline", ``); a.status != 202 {
		t.Fatalf("declining a stand-up: %d %s", a.status, a.raw)
	}
	v = studio("GET", "/me/calendarView"+window, "")
	n := 0
	for _, e := range v.body["value"].([]any) {
		if ev := e.(map[string]any); ev["type"] == "occurrence" {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d stand-ups after declining one of six", n)
	}
}

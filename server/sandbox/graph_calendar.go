package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// preferZoneRE reads Prefer: outlook.timezone="..." (IANA or Windows
// names); without it Graph answers in UTC.
// https://learn.microsoft.com/en-us/graph/api/user-list-calendarview#request-headers
var preferZoneRE = regexp.MustCompile(`(?i)outlook\.timezone\s*=\s*"([^"]+)"`)

// preferredZone returns the zone an answer's times are written in, its
// name as asked for, and whether the Prefer header asked for it. A zone
// Graph does not know is ignored (unconfirmed: answered in UTC).
func preferredZone(r *http.Request) (*time.Location, string, bool) {
	for _, p := range r.Header.Values("Prefer") {
		if m := preferZoneRE.FindStringSubmatch(p); m != nil {
			if loc, ok := zoneByName(m[1]); ok {
				return loc, m[1], true
			}
		}
	}
	return time.UTC, "UTC", false
}

// graphDateTime writes an instant as Graph's dateTimeTimeZone in a zone:
// no offset, seven fraction digits.
func graphDateTime(t time.Time, loc *time.Location, name string) map[string]string {
	return map[string]string{"dateTime": t.In(loc).Format("2006-01-02T15:04:05.0000000"), "timeZone": name}
}

// eventJSON is an event of owner's calendar as Graph returns it.
// https://learn.microsoft.com/en-us/graph/api/resources/event
func eventJSON(ev calEvent, owner *user, loc *time.Location, zone string) map[string]any {
	start, end := graphDateTime(ev.Start, loc, zone), graphDateTime(ev.End, loc, zone)
	if ev.AllDay {
		// All-day events are dates: midnight to midnight in whatever zone
		// is asked for.
		start = map[string]string{"dateTime": ev.Start.Format("2006-01-02") + "T00:00:00.0000000", "timeZone": zone}
		end = map[string]string{"dateTime": ev.End.Format("2006-01-02") + "T00:00:00.0000000", "timeZone": zone}
	}
	isOrganizer := strings.EqualFold(ev.Organizer, owner.UPN)
	response := "accepted"
	if isOrganizer {
		response = "organizer"
	}
	var attendees []map[string]any
	if !isOrganizer {
		attendees = append(attendees, map[string]any{
			"type":         "required",
			"status":       map[string]string{"response": response, "time": "0001-01-01T00:00:00Z"},
			"emailAddress": map[string]string{"name": owner.DisplayName, "address": owner.UPN},
		})
	}
	provider := "unknown"
	if ev.Online {
		provider = "teamsForBusiness"
	}
	etag := ev.ID[len(ev.ID)-16 : len(ev.ID)-4]
	return map[string]any{
		"@odata.etag":                `W/"` + etag + `"`,
		"id":                         ev.ID,
		"createdDateTime":            ev.Created.UTC().Format(time.RFC3339Nano),
		"lastModifiedDateTime":       ev.Created.UTC().Format(time.RFC3339Nano),
		"changeKey":                  etag,
		"categories":                 []string{},
		"originalStartTimeZone":      windowsName(ev.OrgZone),
		"originalEndTimeZone":        windowsName(ev.OrgZone),
		"iCalUId":                    "040000008200E00074C5B7101A82E008" + strings.ToUpper(fmt.Sprintf("%x", ev.ID[8:24])),
		"reminderMinutesBeforeStart": 15,
		"isReminderOn":               !ev.Cancelled,
		"hasAttachments":             false,
		"subject":                    ev.Subject,
		"bodyPreview":                "",
		"importance":                 "normal",
		"sensitivity":                ev.Sensitivity,
		"isAllDay":                   ev.AllDay,
		"isCancelled":                ev.Cancelled,
		"isOrganizer":                isOrganizer,
		"responseRequested":          true,
		"seriesMasterId":             nil,
		"showAs":                     ev.ShowAs,
		"type":                       "singleInstance",
		"webLink":                    "https://outlook.office365.com/owa/?itemid=" + ev.ID + "&exvsurl=1&path=/calendar/item",
		"isOnlineMeeting":            ev.Online,
		"onlineMeetingProvider":      provider,
		"isDraft":                    false,
		"responseStatus":             map[string]string{"response": response, "time": "0001-01-01T00:00:00Z"},
		"start":                      start,
		"end":                        end,
		"location":                   map[string]any{"displayName": ev.Location, "locationType": "default"},
		"attendees":                  attendees,
		"organizer":                  map[string]any{"emailAddress": map[string]string{"name": ev.OrgName, "address": ev.Organizer}},
	}
}

// eventOrder lists what $orderby may sort events by.
var eventOrder = map[string]func(a, b calEvent) int{
	"start/dateTime": func(a, b calEvent) int { return a.Start.Compare(b.Start) },
	"end/dateTime":   func(a, b calEvent) int { return a.End.Compare(b.End) },
	"subject":        func(a, b calEvent) int { return strings.Compare(a.Subject, b.Subject) },
	"createdDateTime": func(a, b calEvent) int {
		return a.Created.Compare(b.Created)
	},
}

// parseGraphTime reads startDateTime/endDateTime: ISO 8601, UTC when it
// has no offset ("If no time zone offset is included, the value is
// interpreted as UTC").
func parseGraphTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// noMailbox answers for an account without an Exchange Online mailbox, in
// the words real tenants answer with (public threads about calendars and
// mail of unlicensed accounts).
func (s *Sandbox) noMailbox(w http.ResponseWriter, r *http.Request) {
	s.graphError(w, r, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
}

// parseURI is the 400 of a query Exchange cannot read.
func (s *Sandbox) parseURI(w http.ResponseWriter, r *http.Request, msg string) {
	s.graphError(w, r, http.StatusBadRequest, "RequestBroker--ParseUri", msg)
}

// pageSize is calendarView's default page: 10 events.
const pageSize = 10

// calendarView is GET /me/calendarView: the events that overlap the
// window, 10 a page by default ($top, at most 1000), ordered by start
// ($orderby), limited to $select, in the zone of Prefer:
// outlook.timezone, paged with @odata.nextLink.
// https://learn.microsoft.com/en-us/graph/api/user-list-calendarview
func (s *Sandbox) calendarView(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if !u.Mailbox {
		s.noMailbox(w, r)
		return
	}
	q := r.URL.Query()
	rawStart, rawEnd := q.Get("startDateTime"), q.Get("endDateTime")
	if rawStart == "" || rawEnd == "" {
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidParameter",
			"This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
		return
	}
	start, ok1 := parseGraphTime(rawStart)
	end, ok2 := parseGraphTime(rawEnd)
	if !ok1 || !ok2 {
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidParameter", "The value of the StartDateTime or EndDateTime parameter is not a valid date and time.")
		return
	}
	top, skip := pageSize, 0
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.parseURI(w, r, fmt.Sprintf("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", v))
			return
		}
		top = min(n, 1000)
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.parseURI(w, r, fmt.Sprintf("Invalid value '%s' for $skip query option found. The $skip query option requires a non-negative integer value.", v))
			return
		}
		skip = n
	}
	var order func(a, b calEvent) int
	if ob := strings.TrimSpace(q.Get("$orderby")); ob != "" {
		field, dir, _ := strings.Cut(ob, " ")
		cmp, known := eventOrder[field]
		dir = strings.ToLower(strings.TrimSpace(dir))
		if !known || (dir != "" && dir != "asc" && dir != "desc") {
			s.parseURI(w, r, fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.OutlookServices.Event'.", field))
			return
		}
		order = cmp
		if dir == "desc" {
			order = func(a, b calEvent) int { return cmp(b, a) }
		}
	}
	loc, zone, preferred := preferredZone(r)
	s.mu.Lock()
	events := s.eventsBetween(u, start, end)
	s.mu.Unlock()
	if order != nil {
		slices.SortStableFunc(events, order)
	}
	o := originOf(r)
	page := events[min(skip, len(events)):min(skip+top, len(events))]
	values := make([]map[string]any, 0, len(page))
	sel := q.Get("$select")
	// A $select is checked against an event's properties even when the
	// page is empty, as Outlook's service checks the query.
	if _, bad := selectFields(eventJSON(calEvent{ID: eventID("select")}, u, loc, zone), sel, eventType); bad != "" {
		s.parseURI(w, r, bad)
		return
	}
	for _, ev := range page {
		v, _ := selectFields(eventJSON(ev, u, loc, zone), sel, eventType, "@odata.etag", "id")
		values = append(values, v)
	}
	body := map[string]any{
		"@odata.context": o.graph + "/v1.0/$metadata#users('" + u.OID + "')/calendarView",
		"value":          values,
	}
	if skip+top < len(events) {
		nq := r.URL.Query()
		nq.Set("$skip", strconv.Itoa(skip+top))
		body["@odata.nextLink"] = o.graph + "/v1.0/me/calendarView?" + nq.Encode()
	}
	if preferred {
		w.Header().Set("Preference-Applied", `outlook.timezone="`+zone+`"`)
	}
	writeGraph(w, r, http.StatusOK, body)
}

// eventByID finds the event of a request's {id}: 400 for an id Exchange
// cannot read, 404 for one it does not have.
func (s *Sandbox) eventByID(w http.ResponseWriter, r *http.Request, u *user) (calEvent, bool) {
	if !u.Mailbox {
		s.noMailbox(w, r)
		return calEvent{}, false
	}
	id := r.PathValue("id")
	if !strings.HasPrefix(id, eventIDPrefix) {
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.")
		return calEvent{}, false
	}
	s.mu.Lock()
	ev, found := s.findEvent(u, id)
	s.mu.Unlock()
	if !found {
		s.graphError(w, r, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return calEvent{}, false
	}
	return ev, true
}

// getEvent is GET /me/events/{id}.
// https://learn.microsoft.com/en-us/graph/api/event-get
// eventType is how the calendar's answers name an event's type in errors:
// Outlook's, not Graph's.
const eventType = "Microsoft.OutlookServices.Event"

func (s *Sandbox) getEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	ev, ok := s.eventByID(w, r, u)
	if !ok {
		return
	}
	loc, zone, preferred := preferredZone(r)
	v, bad := selectFields(eventJSON(ev, u, loc, zone), r.URL.Query().Get("$select"), eventType, "@odata.etag", "id")
	if bad != "" {
		s.parseURI(w, r, bad)
		return
	}
	v["@odata.context"] = originOf(r).graph + "/v1.0/$metadata#users('" + u.OID + "')/events/$entity"
	if preferred {
		w.Header().Set("Preference-Applied", `outlook.timezone="`+zone+`"`)
	}
	writeGraph(w, r, http.StatusOK, v)
}

// newEventBody is what POST /me/events reads.
type newEventBody struct {
	Subject string `json:"subject"`
	Start   *struct {
		DateTime string `json:"dateTime"`
		TimeZone string `json:"timeZone"`
	} `json:"start"`
	End *struct {
		DateTime string `json:"dateTime"`
		TimeZone string `json:"timeZone"`
	} `json:"end"`
	IsAllDay    bool   `json:"isAllDay"`
	ShowAs      string `json:"showAs"`
	Sensitivity string `json:"sensitivity"`
	Location    *struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	IsOnlineMeeting bool `json:"isOnlineMeeting"`
}

// showAsValues are the freeBusyStatus values.
var showAsValues = []string{"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}

// sensitivityValues are those of Graph's sensitivity enum.
var sensitivityValues = []string{"normal", "personal", "private", "confidential"}

// readNewEvent checks an event body as Graph does and returns the event
// and the zone it was given in. The texts of the refusals are unconfirmed.
func readNewEvent(body io.Reader, organizer *user, now time.Time) (calEvent, string, string) {
	var b newEventBody
	d := json.NewDecoder(io.LimitReader(body, 64<<10))
	if err := d.Decode(&b); err != nil {
		if err == io.EOF {
			return calEvent{}, "", "Empty Payload. JSON content expected."
		}
		return calEvent{}, "", "Invalid JSON in the request body: " + err.Error()
	}
	if b.Start == nil || b.End == nil {
		return calEvent{}, "", "Your request can't be completed. An event must have a start and an end."
	}
	when := func(dt, tz string) (time.Time, bool) {
		loc, ok := zoneByName(tz)
		if !ok {
			return time.Time{}, false
		}
		t, ok := parseGraphTime(dt)
		if !ok {
			return t, false
		}
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc), true
	}
	start, ok1 := when(b.Start.DateTime, b.Start.TimeZone)
	end, ok2 := when(b.End.DateTime, b.End.TimeZone)
	if !ok1 || !ok2 {
		return calEvent{}, "", "Your request can't be completed. The start or end date, time or time zone is not valid."
	}
	if !end.After(start) {
		return calEvent{}, "", "Your request can't be completed. The end time must be after the start time."
	}
	showAs := b.ShowAs
	switch {
	case showAs == "":
		showAs = "busy"
	case !slices.Contains(showAsValues, showAs):
		return calEvent{}, "", fmt.Sprintf("Your request can't be completed. Requested value '%s' was not found.", showAs)
	}
	sensitivity := b.Sensitivity
	switch {
	case sensitivity == "":
		sensitivity = "normal"
	case !slices.Contains(sensitivityValues, sensitivity):
		return calEvent{}, "", fmt.Sprintf("Your request can't be completed. Requested value '%s' was not found.", sensitivity)
	}
	if b.IsAllDay && (start.Hour() != 0 || start.Minute() != 0 || end.Hour() != 0 || end.Minute() != 0) {
		return calEvent{}, "", "Your request can't be completed. Start and end of an all-day event must be midnight."
	}
	where := ""
	if b.Location != nil {
		where = b.Location.DisplayName
	}
	return calEvent{
		ID: eventID(organizer.UPN, "created", start.String(), randomString(8)), Subject: b.Subject,
		Start: start, End: end, AllDay: b.IsAllDay, ShowAs: showAs, Sensitivity: sensitivity, Location: where,
		Organizer: organizer.UPN, OrgName: organizer.DisplayName, OrgZone: organizer.TimeZone,
		Online: b.IsOnlineMeeting, Created: now, API: true,
	}, b.Start.TimeZone, ""
}

// createEvent is POST /me/events (Calendars.ReadWrite): 201, the event,
// and its Location. Times come back in the zone of Prefer:
// outlook.timezone, else in the zone they were given in.
// https://learn.microsoft.com/en-us/graph/api/user-post-events
func (s *Sandbox) createEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if !u.Mailbox {
		s.noMailbox(w, r)
		return
	}
	ev, given, bad := readNewEvent(r.Body, u, s.Now())
	if bad != "" {
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", bad)
		return
	}
	s.addEvent(u, ev)
	loc, zone, preferred := preferredZone(r)
	if !preferred {
		loc, _ = zoneByName(given)
		zone = given
	}
	o := originOf(r)
	v := eventJSON(ev, u, loc, zone)
	v["@odata.context"] = o.graph + "/v1.0/$metadata#users('" + u.OID + "')/events/$entity"
	w.Header().Set("Location", o.graph+"/v1.0/users('"+u.OID+"')/events('"+ev.ID+"')")
	writeGraph(w, r, http.StatusCreated, v)
}

// addEvent puts an event in a user's calendar and keeps it.
func (s *Sandbox) addEvent(u *user, ev calEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created[u.UPN] = append(s.created[u.UPN], &ev)
	s.saveLocked()
}

// deleteEvent is DELETE /me/events/{id}: 204, or 404 ErrorItemNotFound.
// https://learn.microsoft.com/en-us/graph/api/event-delete
func (s *Sandbox) deleteEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	ev, ok := s.eventByID(w, r, u)
	if !ok {
		return
	}
	s.mu.Lock()
	s.removeEvent(u, ev)
	s.saveLocked()
	s.mu.Unlock()
	graphHeaders(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// cancelEvent is POST /me/events/{id}/cancel: only the organiser may
// cancel ("An attendee calling this action gets an error (HTTP 400 Bad
// Request)" with the text below), and the action "moves the event to the
// Deleted Items folder". 202, no body. The error code is unconfirmed.
// https://learn.microsoft.com/en-us/graph/api/event-cancel
func (s *Sandbox) cancelEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	ev, ok := s.eventByID(w, r, u)
	if !ok {
		return
	}
	if !strings.EqualFold(ev.Organizer, u.UPN) {
		s.graphError(w, r, http.StatusBadRequest, "ErrorAccessDenied", "Your request can't be completed. You need to be an organizer to cancel a meeting.")
		return
	}
	s.mu.Lock()
	s.removeEvent(u, ev)
	s.saveLocked()
	s.mu.Unlock()
	graphHeaders(w, r)
	w.WriteHeader(http.StatusAccepted)
}

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
	response := ev.response(owner)
	responseTime := "0001-01-01T00:00:00Z"
	if !isOrganizer && !ev.ResponseTime.IsZero() {
		responseTime = ev.ResponseTime.UTC().Format(time.RFC3339Nano)
	}
	attendees := []map[string]any{}
	for _, a := range ev.Attendees {
		at := "0001-01-01T00:00:00Z"
		if !a.Time.IsZero() {
			at = a.Time.UTC().Format(time.RFC3339Nano)
		}
		r := a.Response
		if r == "" {
			r = responseNone
		}
		attendees = append(attendees, map[string]any{
			"type":         a.Type,
			"status":       map[string]string{"response": r, "time": at},
			"emailAddress": map[string]string{"name": a.Name, "address": a.Address},
		})
	}
	if len(ev.Attendees) == 0 && !isOrganizer {
		attendees = append(attendees, map[string]any{
			"type":         "required",
			"status":       map[string]string{"response": response, "time": responseTime},
			"emailAddress": map[string]string{"name": owner.DisplayName, "address": owner.UPN},
		})
	}
	provider := "unknown"
	if ev.Online {
		provider = "teamsForBusiness"
	}
	key := ev.changeKey(owner)
	uid := ev.ICalUID
	if uid == "" {
		uid = "040000008200E00074C5B7101A82E008" + strings.ToUpper(fmt.Sprintf("%x", ev.ID[8:24]))
	}
	var original any
	if ev.Type == typeOccurrence || ev.Type == typeException {
		original = ev.OriginalStart.UTC().Format(time.RFC3339)
	}
	var recur any
	if ev.Recurrence != nil {
		recur = recurrenceJSON(ev.Recurrence)
	}
	return map[string]any{
		"@odata.etag":                `W/"` + key + `"`,
		"id":                         ev.ID,
		"createdDateTime":            ev.Created.UTC().Format(time.RFC3339Nano),
		"lastModifiedDateTime":       ev.modified().UTC().Format(time.RFC3339Nano),
		"changeKey":                  key,
		"categories":                 []string{},
		"originalStartTimeZone":      windowsName(ev.OrgZone),
		"originalEndTimeZone":        windowsName(ev.OrgZone),
		"iCalUId":                    uid,
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
		"seriesMasterId":             nullable(ev.SeriesMasterID),
		"originalStart":              original,
		"recurrence":                 recur,
		"showAs":                     ev.ShowAs,
		"type":                       ev.eventType(),
		"webLink":                    "https://outlook.office365.com/owa/?itemid=" + ev.ID + "&exvsurl=1&path=/calendar/item",
		"isOnlineMeeting":            ev.Online,
		"onlineMeetingProvider":      provider,
		"isDraft":                    false,
		"responseStatus":             map[string]string{"response": response, "time": responseTime},
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
	u := callerOf(r.Context()).target
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
		body["@odata.nextLink"] = o.graph + r.URL.Path + "?" + nq.Encode()
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
	u := callerOf(r.Context()).target
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
	Subject     string            `json:"subject"`
	Start       *dateTimeTimeZone `json:"start"`
	End         *dateTimeTimeZone `json:"end"`
	IsAllDay    bool              `json:"isAllDay"`
	ShowAs      string            `json:"showAs"`
	Sensitivity string            `json:"sensitivity"`
	Location    *struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	IsOnlineMeeting bool `json:"isOnlineMeeting"`
	Attendees       []struct {
		Type         string `json:"type"`
		EmailAddress struct {
			Address string `json:"address"`
			Name    string `json:"name"`
		} `json:"emailAddress"`
	} `json:"attendees"`
	Recurrence *recurrenceBody `json:"recurrence"`
}

// showAsValues are the freeBusyStatus values.
var showAsValues = []string{"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}

// sensitivityValues are those of Graph's sensitivity enum.
var sensitivityValues = []string{"normal", "personal", "private", "confidential"}

// attendeeTypes are those of Graph's attendeeType enum.
var attendeeTypes = []string{"required", "optional", "resource"}

// readNewEvent checks an event body as Graph does and returns the event
// (a series master when it recurs) and the zone it was given in. The
// texts of the refusals are unconfirmed. names resolves attendees'
// display names in the directory.
func readNewEvent(body io.Reader, organizer *user, now time.Time, names func(string) string) (calEvent, string, string) {
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
	start, ok1 := b.Start.instant()
	end, ok2 := b.End.instant()
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
	ev := calEvent{
		ID: eventID(organizer.UPN, "created", start.String(), randomString(8)), Subject: b.Subject,
		Start: start, End: end, AllDay: b.IsAllDay, ShowAs: showAs, Sensitivity: sensitivity, Location: where,
		Organizer: organizer.UPN, OrgName: organizer.DisplayName, OrgZone: organizer.TimeZone,
		Online: b.IsOnlineMeeting, Created: now, API: true,
	}
	for _, a := range b.Attendees {
		address := strings.ToLower(strings.TrimSpace(a.EmailAddress.Address))
		typ := a.Type
		switch {
		case address == "":
			return calEvent{}, "", "Your request can't be completed. An attendee needs an email address."
		case typ == "":
			typ = "required"
		case !slices.Contains(attendeeTypes, typ):
			return calEvent{}, "", fmt.Sprintf("Your request can't be completed. Requested value '%s' was not found.", typ)
		}
		name := a.EmailAddress.Name
		if name == "" {
			name = names(address)
		}
		if strings.EqualFold(address, organizer.UPN) || slices.ContainsFunc(ev.Attendees, func(x attendee) bool { return x.Address == address }) {
			continue
		}
		ev.Attendees = append(ev.Attendees, attendee{Address: address, Name: name, Type: typ, Response: responseNone})
	}
	if b.Recurrence != nil {
		r, bad := readRecurrence(b.Recurrence, start, start.Location().String())
		if bad != "" {
			return calEvent{}, "", bad
		}
		ev.Recurrence, ev.Type = r, typeMaster
	}
	return ev, b.Start.TimeZone, ""
}

// nameOf is the display name of a tenant address, the address itself for
// others; s.mu must not be held.
func (s *Sandbox) nameOf(address string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[strings.ToLower(address)]; u != nil {
		return u.DisplayName
	}
	return address
}

// createEvent is POST /me/events (Calendars.ReadWrite): 201, the event,
// and its Location. Times come back in the zone of Prefer:
// outlook.timezone, else in the zone they were given in. With attendees
// it is a meeting: each attendee's calendar gets a copy, and rooms answer
// at once (meetings.go).
// https://learn.microsoft.com/en-us/graph/api/user-post-events
func (s *Sandbox) createEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).target
	if !u.Mailbox {
		s.noMailbox(w, r)
		return
	}
	ev, given, bad := readNewEvent(r.Body, u, s.Now(), s.nameOf)
	if bad != "" {
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", bad)
		return
	}
	s.mu.Lock()
	ev = s.bookLocked(u, ev)
	s.mu.Unlock()
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

// deleteEvent is DELETE /me/events/{id}: 204, or 404 ErrorItemNotFound.
// "If the event is a meeting, deleting the event on the organizer's
// calendar sends a cancellation message to the meeting attendees": the
// attendees' copies are marked cancelled, as with cancel. An attendee who
// deletes its copy only removes it from its calendar.
// https://learn.microsoft.com/en-us/graph/api/event-delete
func (s *Sandbox) deleteEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).target
	ev, ok := s.eventByID(w, r, u)
	if !ok {
		return
	}
	s.mu.Lock()
	if strings.EqualFold(ev.Organizer, u.UPN) {
		s.cancelLocked(u, ev)
	} else {
		s.removeEvent(u, ev)
		s.saveLocked()
	}
	s.mu.Unlock()
	graphHeaders(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// cancelEvent is POST /me/events/{id}/cancel: only the organiser may
// cancel ("An attendee calling this action gets an error (HTTP 400 Bad
// Request)" with the text below), and the action "moves the event to the
// Deleted Items folder"; "The organizer can also cancel an occurrence of a
// recurring meeting by providing the occurrence event ID". 202, no body.
// The error code is unconfirmed.
// https://learn.microsoft.com/en-us/graph/api/event-cancel
func (s *Sandbox) cancelEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).target
	ev, ok := s.eventByID(w, r, u)
	if !ok {
		return
	}
	if !strings.EqualFold(ev.Organizer, u.UPN) {
		s.graphError(w, r, http.StatusBadRequest, "ErrorAccessDenied", errNotOrganiser("cancel a meeting"))
		return
	}
	if _, bad := readComment(r.Body); bad != "" {
		s.graphError(w, r, http.StatusBadRequest, "RequestBodyRead", bad)
		return
	}
	s.mu.Lock()
	s.cancelLocked(u, ev)
	s.mu.Unlock()
	graphHeaders(w, r)
	w.WriteHeader(http.StatusAccepted)
}

// responseBody is what accept, tentativelyAccept and decline read.
type responseBody struct {
	Comment         string          `json:"comment"`
	SendResponse    *bool           `json:"sendResponse"`
	ProposedNewTime json.RawMessage `json:"proposedNewTime"`
}

// readComment reads the optional body of an action (comment,
// sendResponse); an empty body is one.
func readComment(body io.Reader) (responseBody, string) {
	var b responseBody
	if err := json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&b); err != nil && err != io.EOF {
		return b, "The request body is not valid JSON: " + err.Error()
	}
	return b, ""
}

// respond is POST /me/events/{id}/accept, tentativelyAccept or decline
// (Calendars.ReadWrite): 202, no body; the comment and sendResponse are
// read (the organiser is told through its copy of the meeting, whatever
// sendResponse says: no mail is emulated). For an occurrence, only that
// occurrence is answered. proposedNewTime with sendResponse false is 400,
// as the decline page says; a proposed time is otherwise not emulated.
// https://learn.microsoft.com/en-us/graph/api/event-accept
// https://learn.microsoft.com/en-us/graph/api/event-decline
// https://learn.microsoft.com/en-us/graph/api/event-tentativelyaccept
func (s *Sandbox) respond(response string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := callerOf(r.Context()).target
		ev, ok := s.eventByID(w, r, u)
		if !ok {
			return
		}
		b, bad := readComment(r.Body)
		switch {
		case bad != "":
			s.graphError(w, r, http.StatusBadRequest, "RequestBodyRead", bad)
			return
		case len(b.ProposedNewTime) > 0 && string(b.ProposedNewTime) != "null" && b.SendResponse != nil && !*b.SendResponse:
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest",
				"Your request can't be completed. A proposed new time needs sendResponse set to true.")
			return
		}
		s.mu.Lock()
		bad = s.respondLocked(u, ev, response)
		s.mu.Unlock()
		if bad != "" {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", bad)
			return
		}
		graphHeaders(w, r)
		w.WriteHeader(http.StatusAccepted)
	}
}

// updateEvent is PATCH /me/events/{id} (Calendars.ReadWrite): 200 and the
// event. subject, start, end, showAs, sensitivity and location are
// emulated; other properties of the event resource are read and left as
// they are, but attendees and recurrence, whose changes are not emulated
// and answered 400 saying so. Only the organiser may move a meeting: the
// attendee's refusal is modelled on the one event-cancel documents for
// attendees (400, "You need to be an organizer to ..."), since no page says
// what Graph answers an attendee who changes start or end (unconfirmed).
// The organiser's change reaches every copy, and a room declines new times
// that overlap another of its meetings.
// https://learn.microsoft.com/en-us/graph/api/event-update
func (s *Sandbox) updateEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).target
	ev, ok := s.eventByID(w, r, u)
	if !ok {
		return
	}
	var b map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&b); err != nil {
		s.graphError(w, r, http.StatusBadRequest, "RequestBodyRead", "The request body is not valid JSON: "+err.Error())
		return
	}
	known := []string{"subject", "start", "end", "showAs", "sensitivity", "location", "body", "categories", "importance",
		"isReminderOn", "reminderMinutesBeforeStart", "responseRequested", "isOnlineMeeting", "onlineMeetingProvider",
		"hideAttendees", "locations", "isAllDay", "attendees", "recurrence", "originalStartTimeZone", "originalEndTimeZone", "responseStatus"}
	for k := range b {
		if !slices.Contains(known, k) && !strings.HasPrefix(k, "@odata") {
			s.graphError(w, r, http.StatusBadRequest, "RequestBodyRead", fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.event'. Make sure to only use property names that are defined by the type or mark the type as open type.", k))
			return
		}
	}
	for _, k := range []string{"attendees", "recurrence", "isAllDay"} {
		if _, ok := b[k]; ok {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", fmt.Sprintf("The sandbox does not emulate changing %s with PATCH (docs/sandbox.md).", k))
			return
		}
	}
	var edits []func(*calEvent)
	str := func(k string, valid []string, set func(*calEvent, string)) string {
		raw, ok := b[k]
		if !ok {
			return ""
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Sprintf("Cannot convert the literal '%s' to the expected type 'Edm.String'.", raw)
		}
		if valid != nil && !slices.Contains(valid, v) {
			return fmt.Sprintf("Your request can't be completed. Requested value '%s' was not found.", v)
		}
		edits = append(edits, func(e *calEvent) { set(e, v) })
		return ""
	}
	for _, bad := range []string{
		str("subject", nil, func(e *calEvent, v string) { e.Subject = v }),
		str("showAs", showAsValues, func(e *calEvent, v string) { e.ShowAs = v }),
		str("sensitivity", sensitivityValues, func(e *calEvent, v string) { e.Sensitivity = v }),
	} {
		if bad != "" {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", bad)
			return
		}
	}
	if raw, ok := b["location"]; ok {
		var l struct {
			DisplayName string `json:"displayName"`
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			s.graphError(w, r, http.StatusBadRequest, "RequestBodyRead", "location is not a location: "+err.Error())
			return
		}
		edits = append(edits, func(e *calEvent) { e.Location = l.DisplayName })
	}
	start, end := ev.Start, ev.End
	zone := ""
	for k, t := range map[string]*time.Time{"start": &start, "end": &end} {
		raw, ok := b[k]
		if !ok {
			continue
		}
		var d dateTimeTimeZone
		v, ok := time.Time{}, json.Unmarshal(raw, &d) == nil
		if ok {
			v, ok = d.instant()
		}
		if !ok {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The start or end date, time or time zone is not valid.")
			return
		}
		*t, zone = v, d.TimeZone
	}
	moving := !start.Equal(ev.Start) || !end.Equal(ev.End)
	switch {
	case moving && !strings.EqualFold(ev.Organizer, u.UPN):
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", errNotOrganiser("change the start or end of a meeting"))
		return
	case moving && ev.Type == typeMaster:
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", "The sandbox does not emulate moving a whole series with PATCH (docs/sandbox.md): move an occurrence.")
		return
	case !end.After(start):
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The end time must be after the start time.")
		return
	}
	s.mu.Lock()
	if moving {
		ev = s.moveLocked(u, ev, start, end)
	}
	if len(edits) > 0 {
		ev = s.editLocked(u, ev, func(e *calEvent) {
			for _, f := range edits {
				f(e)
			}
		})
	}
	s.mu.Unlock()
	loc, name, preferred := preferredZone(r)
	if !preferred && zone != "" {
		loc, _ = zoneByName(zone)
		name = zone
	}
	v := eventJSON(ev, u, loc, name)
	v["@odata.context"] = originOf(r).graph + "/v1.0/$metadata#users('" + u.OID + "')/events/$entity"
	if preferred {
		w.Header().Set("Preference-Applied", `outlook.timezone="`+name+`"`)
	}
	writeGraph(w, r, http.StatusOK, v)
}

package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// preferredZone reads Prefer: outlook.timezone="..." (IANA names and UTC);
// without it Graph answers in UTC.
// https://learn.microsoft.com/en-us/graph/api/user-list-calendarview#request-headers
var preferZoneRE = regexp.MustCompile(`outlook\.timezone="([^"]+)"`)

func preferredZone(r *http.Request) (*time.Location, string) {
	for _, p := range r.Header.Values("Prefer") {
		if m := preferZoneRE.FindStringSubmatch(p); m != nil {
			if loc, err := time.LoadLocation(m[1]); err == nil {
				return loc, m[1]
			}
		}
	}
	return time.UTC, "UTC"
}

// graphDateTime writes an instant as Graph does in a zone.
func graphDateTime(t time.Time, loc *time.Location, name string) map[string]string {
	return map[string]string{"dateTime": t.In(loc).Format("2006-01-02T15:04:05.0000000"), "timeZone": name}
}

// eventJSON is an event as Graph returns it, limited to $select when given.
func eventJSON(ev calEvent, loc *time.Location, zone string, sel []string) map[string]any {
	start, end := graphDateTime(ev.Start, loc, zone), graphDateTime(ev.End, loc, zone)
	if ev.AllDay {
		// All-day events are dates: midnight to midnight in whatever zone
		// is asked for.
		start = map[string]string{"dateTime": ev.Start.Format("2006-01-02") + "T00:00:00.0000000", "timeZone": zone}
		end = map[string]string{"dateTime": ev.End.Format("2006-01-02") + "T00:00:00.0000000", "timeZone": zone}
	}
	full := map[string]any{
		"@odata.etag": `W/"` + ev.ID[len(ev.ID)-12:] + `"`,
		"id":          ev.ID,
		"subject":     ev.Subject,
		"start":       start,
		"end":         end,
		"isAllDay":    ev.AllDay,
		"isCancelled": ev.Cancelled,
		"showAs":      ev.ShowAs,
		"sensitivity": ev.Sensitivity,
		"location":    map[string]any{"displayName": ev.Location},
		"organizer":   map[string]any{"emailAddress": map[string]string{"name": ev.OrgName, "address": ev.Organizer}},
	}
	if len(sel) == 0 {
		return full
	}
	out := map[string]any{"@odata.etag": full["@odata.etag"], "id": ev.ID}
	for _, f := range sel {
		if v, ok := full[f]; ok {
			out[f] = v
		}
	}
	return out
}

// parseGraphTime reads startDateTime/endDateTime: ISO 8601, UTC when it
// has no offset.
func parseGraphTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// calendarView is GET /me/calendarView: the events that overlap the
// window, 10 a page by default ($top), ordered by start, paged with
// @odata.nextLink.
// https://learn.microsoft.com/en-us/graph/api/user-list-calendarview
func (s *Sandbox) calendarView(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if !u.Mailbox {
		s.graphError(w, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
		return
	}
	q := r.URL.Query()
	rawStart, rawEnd := q.Get("startDateTime"), q.Get("endDateTime")
	if rawStart == "" || rawEnd == "" {
		s.graphError(w, http.StatusBadRequest, "ErrorInvalidParameters",
			"This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
		return
	}
	start, ok1 := parseGraphTime(rawStart)
	end, ok2 := parseGraphTime(rawEnd)
	if !ok1 || !ok2 {
		s.graphError(w, http.StatusBadRequest, "ErrorInvalidParameters", "The value of the StartDateTime or EndDateTime parameter is not a valid date and time.")
		return
	}
	top, skip := 10, 0
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid $top value: "+v)
			return
		}
		top = min(n, 1000)
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid $skip value: "+v)
			return
		}
		skip = n
	}
	var sel []string
	if v := q.Get("$select"); v != "" {
		sel = strings.Split(v, ",")
	}
	loc, zone := preferredZone(r)
	s.mu.Lock()
	events := s.eventsBetween(u, start, end)
	s.mu.Unlock()
	if ob := q.Get("$orderby"); strings.HasPrefix(ob, "start/dateTime") && strings.HasSuffix(ob, " desc") {
		slices.Reverse(events)
	}
	page := events[min(skip, len(events)):min(skip+top, len(events))]
	values := make([]map[string]any, 0, len(page))
	for _, ev := range page {
		values = append(values, eventJSON(ev, loc, zone, sel))
	}
	body := map[string]any{
		"@odata.context": "https://" + GraphHost + "/v1.0/$metadata#users('" + u.OID + "')/calendarView",
		"value":          values,
	}
	if skip+top < len(events) {
		next := *r.URL
		nq := next.Query()
		nq.Set("$skip", strconv.Itoa(skip+top))
		next.RawQuery = nq.Encode()
		next.Scheme, next.Host = "https", GraphHost
		body["@odata.nextLink"] = next.String()
	}
	if zone != "UTC" || r.Header.Get("Prefer") != "" {
		w.Header().Set("Preference-Applied", `outlook.timezone="`+zone+`"`)
	}
	writeJSON(w, http.StatusOK, body)
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
	IsAllDay bool   `json:"isAllDay"`
	ShowAs   string `json:"showAs"`
}

// readNewEvent checks an event body as Graph does and returns the event.
func readNewEvent(body io.Reader, organizer *user) (calEvent, string) {
	var b newEventBody
	if err := json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&b); err != nil {
		return calEvent{}, "Empty Payload. JSON content expected."
	}
	if b.Start == nil || b.End == nil {
		return calEvent{}, "Your request can't be completed. An event must have a start and an end."
	}
	when := func(dt, tz string) (time.Time, bool) {
		loc := zoneOf(tz)
		t, ok := parseGraphTime(dt)
		if !ok {
			return t, false
		}
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc), true
	}
	start, ok1 := when(b.Start.DateTime, b.Start.TimeZone)
	end, ok2 := when(b.End.DateTime, b.End.TimeZone)
	if !ok1 || !ok2 {
		return calEvent{}, "Your request can't be completed. The start or end date and time is not valid."
	}
	if !end.After(start) {
		return calEvent{}, "Your request can't be completed. The end time must be after the start time."
	}
	showAs := b.ShowAs
	if showAs == "" {
		showAs = "busy"
	}
	return calEvent{
		ID: eventID(organizer.UPN, "created", start.String(), randomString(8)), Subject: b.Subject,
		Start: start, End: end, AllDay: b.IsAllDay, ShowAs: showAs, Sensitivity: "normal",
		Organizer: organizer.UPN, OrgName: organizer.DisplayName, Created: true,
	}, ""
}

// createEvent is POST /me/events (Calendars.ReadWrite): 201 and the event.
// https://learn.microsoft.com/en-us/graph/api/user-post-events
func (s *Sandbox) createEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	if !u.Mailbox {
		s.graphError(w, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
		return
	}
	ev, bad := readNewEvent(r.Body, u)
	if bad != "" {
		s.graphError(w, http.StatusBadRequest, "ErrorInvalidRequest", bad)
		return
	}
	s.mu.Lock()
	s.created[u.UPN] = append(s.created[u.UPN], &ev)
	s.mu.Unlock()
	loc, zone := preferredZone(r)
	w.Header().Set("Location", "https://"+GraphHost+"/v1.0/users('"+u.OID+"')/events('"+ev.ID+"')")
	writeJSON(w, http.StatusCreated, eventJSON(ev, loc, zone, nil))
}

// deleteEvent is DELETE /me/events/{id}: 204, or 404 ErrorItemNotFound.
// https://learn.microsoft.com/en-us/graph/api/event-delete
func (s *Sandbox) deleteEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	id := r.PathValue("id")
	s.mu.Lock()
	_, found := s.findEvent(u, id)
	if found {
		s.created[u.UPN] = slices.DeleteFunc(s.created[u.UPN], func(e *calEvent) bool { return e.ID == id })
		s.overrides[id] = nil
	}
	s.mu.Unlock()
	if !found {
		s.graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// cancelEvent is POST /me/events/{id}/cancel: only the organiser may
// cancel; 202.
// https://learn.microsoft.com/en-us/graph/api/event-cancel
func (s *Sandbox) cancelEvent(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).user
	id := r.PathValue("id")
	s.mu.Lock()
	ev, found := s.findEvent(u, id)
	organizer := found && ev.Organizer == u.UPN
	if organizer {
		ev.Cancelled = true
		if ev.Created {
			for _, c := range s.created[u.UPN] {
				if c.ID == id {
					c.Cancelled = true
				}
			}
		} else {
			s.overrides[id] = &ev
		}
	}
	s.mu.Unlock()
	switch {
	case !found:
		s.graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	case !organizer:
		s.graphError(w, http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. You can't cancel a meeting unless you're the meeting organizer.")
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// batchLimit is the most requests a JSON batch may hold.
// https://learn.microsoft.com/en-us/graph/json-batching#batch-size-limitations
const batchLimit = 20

// batch is POST /$batch: each request runs as if sent alone with the
// batch's Authorization header, and has its own status (a 200 batch may
// hold a 429).
// https://learn.microsoft.com/en-us/graph/json-batching
func (s *Sandbox) batch(graph http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.count("graph /$batch")
		var in struct {
			Requests []struct {
				ID      string            `json:"id"`
				Method  string            `json:"method"`
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
				Body    json.RawMessage   `json:"body"`
			} `json:"requests"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&in); err != nil || len(in.Requests) == 0 {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
			return
		}
		if len(in.Requests) > batchLimit {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Limit of 20 requests exceeded.")
			return
		}
		seen := map[string]bool{}
		for _, req := range in.Requests {
			if req.ID == "" || seen[req.ID] {
				s.graphError(w, http.StatusBadRequest, "BadRequest", "Batch request ids must be unique and not empty: "+strconv.Quote(req.ID))
				return
			}
			seen[req.ID] = true
		}
		out := make([]map[string]any, 0, len(in.Requests))
		for _, req := range in.Requests {
			target, err := url.Parse(strings.TrimPrefix(req.URL, "/v1.0"))
			if err != nil || !strings.HasPrefix(target.Path, "/") {
				out = append(out, map[string]any{"id": req.ID, "status": 400, "body": map[string]any{
					"error": map[string]string{"code": "BadRequest", "message": "Invalid request URL: " + req.URL}}})
				continue
			}
			var body io.Reader = http.NoBody
			if len(req.Body) > 0 {
				body = bytes.NewReader(req.Body)
			}
			inner := httptest.NewRequestWithContext(r.Context(), req.Method, "https://"+GraphHost+"/v1.0"+target.RequestURI(), body)
			inner.Header.Set("Authorization", r.Header.Get("Authorization"))
			for k, v := range req.Headers {
				inner.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			graph.ServeHTTP(rec, inner)
			res := map[string]any{"id": req.ID, "status": rec.Code}
			headers := map[string]string{}
			for _, k := range []string{"Content-Type", "Retry-After", "Location", "Preference-Applied"} {
				if v := rec.Header().Get(k); v != "" {
					headers[k] = v
				}
			}
			res["headers"] = headers
			if b := rec.Body.Bytes(); len(b) > 0 {
				if json.Valid(b) {
					res["body"] = json.RawMessage(b)
				} else {
					// Binary answers (a photo) travel base64-encoded.
					res["body"] = base64.StdEncoding.EncodeToString(b)
				}
			}
			out = append(out, res)
		}
		writeJSON(w, http.StatusOK, map[string]any{"responses": out})
	}
}

// postUserEvent is the control API's POST /sandbox/api/users/{upn}/events:
// a Graph event body added to the user's calendar; it answers the event.
func (s *Sandbox) postUserEvent(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.users[r.PathValue("upn")]
	s.mu.Unlock()
	if u == nil {
		apiError(w, http.StatusNotFound, fmt.Sprintf("no demo user %q", r.PathValue("upn")))
		return
	}
	if !u.Mailbox {
		apiError(w, http.StatusConflict, u.UPN+" has no mailbox, so no calendar")
		return
	}
	ev, bad := readNewEvent(r.Body, u)
	if bad != "" {
		apiError(w, http.StatusBadRequest, bad)
		return
	}
	s.mu.Lock()
	s.created[u.UPN] = append(s.created[u.UPN], &ev)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, eventJSON(ev, time.UTC, "UTC", nil))
}

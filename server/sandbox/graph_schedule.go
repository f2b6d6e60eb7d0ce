package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// getSchedule's limits: "up to 20 entities at once" and "The time period
// to look up must be less than 62 days"; availabilityViewInterval is 5 to
// 1440 minutes, 30 by default.
// https://learn.microsoft.com/en-us/graph/outlook-get-free-busy-schedule#limits-and-error-conditions
// https://learn.microsoft.com/en-us/graph/api/calendar-getschedule#request-body
const (
	MaxSchedules        = 20
	MaxScheduleDays     = 62
	defaultViewInterval = 30
)

// dateTimeTimeZone is Graph's local date and time with its zone's name, as
// a request sends it.
type dateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// instant reads a dateTimeTimeZone: the zone by its Windows or IANA name.
func (d *dateTimeTimeZone) instant() (time.Time, bool) {
	if d == nil {
		return time.Time{}, false
	}
	loc, ok := zoneByName(d.TimeZone)
	if !ok {
		return time.Time{}, false
	}
	t, ok := parseGraphTime(d.DateTime)
	if !ok {
		return t, false
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc), true
}

// availabilityDigits are availabilityView's digits: "0 = free, 1 =
// tentative, 2 = busy, 3 = out of office, 4 = working elsewhere".
// https://learn.microsoft.com/en-us/graph/api/resources/scheduleinformation
var availabilityDigits = map[string]byte{"free": '0', "tentative": '1', "busy": '2', "oof": '3', "workingElsewhere": '4'}

// busyness orders the digits for a slot several events share: the busiest
// shows (out of office over busy over tentative over working elsewhere
// over free), as Outlook's merged free/busy does (unconfirmed by Graph's
// pages).
var busyness = map[byte]int{'0': 0, '4': 1, '1': 2, '2': 3, '3': 4}

// getSchedule is POST /me/calendar/getSchedule: the free/busy of up to 20
// mailboxes over a window under 62 days. Each schedule has its
// availabilityView (a digit per availabilityViewInterval minutes),
// scheduleItems (status, start, end; subject, location and isPrivate only
// where the mailbox shares them) and workingHours; an address that names
// no mailbox gets an error of its own and the others are answered.
//
// What is shared: "getSchedule can ... return the subject, location, and
// isPrivate properties of an event, provided that the event is marked with
// low sensitivity level - normal or personal - AND ... the requested
// user's calendar is shared with the signed-in user". The demo tenant's
// rooms share their calendars (their copies' subjects are the organiser's
// names, as Exchange writes them, unless the room keeps subjects); people
// share free/busy only; a private meeting is times only anywhere.
// https://learn.microsoft.com/en-us/graph/outlook-get-free-busy-schedule#event-data-returned
func (s *Sandbox) getSchedule(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r.Context())
	var body struct {
		Schedules                []string          `json:"schedules"`
		StartTime                *dateTimeTimeZone `json:"startTime"`
		EndTime                  *dateTimeTimeZone `json:"endTime"`
		AvailabilityViewInterval json.RawMessage   `json:"availabilityViewInterval"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		s.graphError(w, r, http.StatusBadRequest, "RequestBodyRead", "The request body is not valid JSON: "+err.Error())
		return
	}
	// The concept page's own sample sends the interval as a string.
	interval := defaultViewInterval
	if raw := strings.Trim(string(body.AvailabilityViewInterval), `"`); raw != "" && raw != "null" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			s.graphError(w, r, http.StatusBadRequest, "RequestBodyRead", fmt.Sprintf("Cannot convert the literal '%s' to the expected type 'Edm.Int32'.", raw))
			return
		}
		interval = n
	}
	start, ok1 := body.StartTime.instant()
	end, ok2 := body.EndTime.instant()
	switch {
	case len(body.Schedules) == 0 || body.StartTime == nil || body.EndTime == nil:
		// The wording is unconfirmed.
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidParameter", "getSchedule needs schedules, startTime and endTime.")
		return
	case len(body.Schedules) > MaxSchedules:
		// The words of a real answer (microsoft-graph-docs#7047), whose
		// tenant allowed 100; the documented 20 is what the sandbox
		// holds a client to.
		s.graphError(w, r, http.StatusBadRequest, "ErrorMailboxDataArrayTooBig", fmt.Sprintf(
			"There are too many target users in the EmailAddress array. The allowed size = %d; the actual size = %d.", MaxSchedules, len(body.Schedules)))
		return
	case !ok1 || !ok2 || !end.After(start):
		// Seen in a real answer (msgraph-sdk-dotnet#2349).
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidTimeInterval", "The time duration specified for FreeBusyViewOptions.TimeWindow is invalid.")
		return
	case end.Sub(start) >= MaxScheduleDays*24*time.Hour:
		// The words of a real answer (microsoft-graph-docs PR 19703).
		days := int(math.Ceil(end.Sub(start).Hours() / 24))
		s.graphError(w, r, http.StatusBadRequest, "ErrorTimeIntervalTooBig", fmt.Sprintf(
			"The requested time duration specified for FreeBusyViewOptions.TimeWindow is too long. The allowed limit = %d days; the actual limit = %d days.", MaxScheduleDays, days))
		return
	case interval < 5 || interval > 1440:
		// Exchange Web Services' name for this refusal; Graph's is
		// unconfirmed.
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidMergedFreeBusyInterval",
			fmt.Sprintf("The availabilityViewInterval %d is not valid: it is 5 to 1440 minutes.", interval))
		return
	}
	loc, zone, preferred := preferredZone(r)
	values := make([]map[string]any, 0, len(body.Schedules))
	for _, address := range body.Schedules {
		values = append(values, s.schedule(c.user, address, start, end, interval, loc, zone))
	}
	if preferred {
		w.Header().Set("Preference-Applied", `outlook.timezone="`+zone+`"`)
	}
	writeGraph(w, r, http.StatusOK, map[string]any{
		"@odata.context": originOf(r).graph + "/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)",
		"value":          values,
	})
}

// schedule is one scheduleInformation of getSchedule.
func (s *Sandbox) schedule(reader *user, address string, start, end time.Time, interval int, loc *time.Location, zone string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(address)]
	if u == nil || !u.Mailbox {
		// A real answer for an address the directory does not know
		// (microsoft-graph-docs#11225). A room list's address (a
		// distribution list) is answered so too: expanding lists is not
		// emulated. An account without a mailbox is answered so too
		// (unconfirmed).
		return map[string]any{"scheduleId": address, "error": map[string]any{
			"message":      fmt.Sprintf("Unable to resolve e-mail address %s to an Active Directory object.", address),
			"responseCode": "5009",
		}}
	}
	slots := int(math.Ceil(end.Sub(start).Minutes() / float64(interval)))
	view := []byte(strings.Repeat("0", slots))
	items := []map[string]any{}
	shares := u == reader || u.Room
	for _, ev := range s.eventsBetween(u, start, end) {
		digit, ok := availabilityDigits[ev.ShowAs]
		if ev.Cancelled || !ok || digit == '0' {
			continue
		}
		item := map[string]any{"status": ev.ShowAs, "start": graphDateTime(ev.Start, loc, zone), "end": graphDateTime(ev.End, loc, zone)}
		if shares && ev.Sensitivity != "private" && ev.Sensitivity != "confidential" {
			item["isPrivate"], item["subject"], item["location"] = false, ev.Subject, ev.Location
		}
		items = append(items, item)
		for i := range view {
			from := start.Add(time.Duration(i*interval) * time.Minute)
			to := from.Add(time.Duration(interval) * time.Minute)
			if ev.Start.Before(to) && ev.End.After(from) && busyness[digit] > busyness[view[i]] {
				view[i] = digit
			}
		}
	}
	return map[string]any{
		"scheduleId":       address,
		"availabilityView": string(view),
		"scheduleItems":    items,
		"workingHours": map[string]any{
			"daysOfWeek": []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
			"startTime":  "08:00:00.0000000",
			"endTime":    "17:00:00.0000000",
			"timeZone":   map[string]any{"name": windowsName(u.TimeZone)},
		},
	}
}

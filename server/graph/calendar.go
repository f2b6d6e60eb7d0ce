package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Event is a calendar event, with the fields placard reads.
// https://learn.microsoft.com/en-us/graph/api/resources/event
type Event struct {
	ID          string           `json:"id"`
	Subject     string           `json:"subject"`
	Start       DateTimeTimeZone `json:"start"`
	End         DateTimeTimeZone `json:"end"`
	IsAllDay    bool             `json:"isAllDay"`
	IsCancelled bool             `json:"isCancelled"`
	// ShowAs is free, tentative, busy, oof, workingElsewhere or unknown.
	ShowAs string `json:"showAs"`
	// Sensitivity is normal, personal, private or confidential.
	Sensitivity string    `json:"sensitivity"`
	Location    Location  `json:"location"`
	Organizer   Recipient `json:"organizer"`
	// IsOrganizer says whether the calendar's owner organises the
	// meeting; ResponseStatus is the owner's response (organizer,
	// accepted, tentativelyAccepted, declined, notResponded, none).
	IsOrganizer    bool           `json:"isOrganizer"`
	ResponseStatus ResponseStatus `json:"responseStatus"`
	// Type is singleInstance, occurrence, exception or seriesMaster;
	// SeriesMasterID names an occurrence's series master in the same
	// calendar.
	Type           string `json:"type"`
	SeriesMasterID string `json:"seriesMasterId"`
	// ICalUID is the same in every copy of a meeting (the organiser's and
	// each attendee's calendar), where ID is each calendar's own.
	ICalUID string `json:"iCalUId"`
	// Attendees are the meeting's attendees with their responses (as the
	// organiser's copy knows them); delta and GET return them, not
	// CalendarView, which selects fewer fields.
	Attendees []Attendee `json:"attendees"`
	// ChangeKey changes with every change of the event.
	ChangeKey string `json:"changeKey"`
}

// ResponseStatus is a response to a meeting and when it was given.
// https://learn.microsoft.com/en-us/graph/api/resources/responsestatus
type ResponseStatus struct {
	Response string `json:"response"`
	Time     string `json:"time"`
}

// Attendee is an attendee of a meeting: required, optional or resource
// (a room), with its response.
// https://learn.microsoft.com/en-us/graph/api/resources/attendee
type Attendee struct {
	Type         string         `json:"type"`
	Status       ResponseStatus `json:"status"`
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

// AttendeeResponse is the response of the attendee with the address, ""
// when it is none of the event's attendees.
func (e Event) AttendeeResponse(address string) string {
	for _, a := range e.Attendees {
		if strings.EqualFold(a.EmailAddress.Address, address) {
			return a.Status.Response
		}
	}
	return ""
}

// Private reports whether the event's owner marked it private or
// confidential: others see it as "Private appointment", times only.
// https://learn.microsoft.com/en-us/graph/api/resources/event (sensitivity)
func (e Event) Private() bool {
	return strings.EqualFold(e.Sensitivity, "private") || strings.EqualFold(e.Sensitivity, "confidential")
}

// DateTimeTimeZone is Graph's local date and time with its zone's name.
// https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// Location is where an event takes place.
type Location struct {
	DisplayName string `json:"displayName"`
}

// Recipient is a person by name and address.
type Recipient struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

// graphTimeLayout is how Graph writes dateTime: no offset, 7 fraction
// digits ("2026-11-23T09:00:00.0000000").
const graphTimeLayout = "2006-01-02T15:04:05.0000000"

// Time returns the instant, reading the zone by its IANA name ("UTC" and
// "Europe/Paris" are what placard asks for with Prefer: outlook.timezone).
func (d DateTimeTimeZone) Time() (time.Time, error) {
	loc := time.UTC
	if d.TimeZone != "" && d.TimeZone != "UTC" {
		l, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			return time.Time{}, fmt.Errorf("graph: time zone %q: %w", d.TimeZone, err)
		}
		loc = l
	}
	for _, layout := range []string{graphTimeLayout, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, d.DateTime, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("graph: dateTime %q is not in Graph's format", d.DateTime)
}

// At returns Graph's form of t in loc.
func At(t time.Time, loc *time.Location) DateTimeTimeZone {
	name := loc.String()
	if loc == time.UTC {
		name = "UTC"
	}
	return DateTimeTimeZone{DateTime: t.In(loc).Format(graphTimeLayout), TimeZone: name}
}

// eventFields are the fields placard reads: $select keeps answers small.
const eventFields = "id,subject,start,end,isAllDay,isCancelled,showAs,sensitivity,location,organizer,isOrganizer,responseStatus,type,seriesMasterId,iCalUId,changeKey"

// CalendarViewPath is the relative URL of the events between start and
// end, in UTC, ordered by start, as one request of a $batch or on its own.
// calendarView needs both bounds; without an offset they are UTC.
// https://learn.microsoft.com/en-us/graph/api/user-list-calendarview
func CalendarViewPath(start, end time.Time) string {
	q := url.Values{}
	q.Set("startDateTime", start.UTC().Format(time.RFC3339))
	q.Set("endDateTime", end.UTC().Format(time.RFC3339))
	q.Set("$select", eventFields)
	q.Set("$orderby", "start/dateTime")
	q.Set("$top", "100")
	return "/me/calendarView?" + q.Encode()
}

// utcPreference makes Graph answer times in UTC, whatever the mailbox's
// zone: placard converts to each screen's zone itself.
const utcPreference = `outlook.timezone="UTC"`

// EventPage is one page of events.
type EventPage struct {
	Value    []Event `json:"value"`
	NextLink string  `json:"@odata.nextLink"`
}

// CalendarView returns the signed-in user's events between start and end
// (Calendars.Read), following @odata.nextLink across pages.
func (c *Client) CalendarView(ctx context.Context, token string, start, end time.Time) ([]Event, error) {
	var page EventPage
	if err := c.getJSON(ctx, token, "calendarView", CalendarViewPath(start, end), http.Header{"Prefer": {utcPreference}}, &page); err != nil {
		return nil, err
	}
	return c.More(ctx, token, page)
}

// More returns a page's events and those of the pages after it, following
// @odata.nextLink (a calendarView answered inside a batch may have more).
func (c *Client) More(ctx context.Context, token string, page EventPage) ([]Event, error) {
	all := page.Value
	for pages, next := 1, page.NextLink; next != ""; pages++ {
		if pages == 50 {
			return nil, fmt.Errorf("graph: calendarView has more than 50 pages")
		}
		var p EventPage
		if err := c.getJSON(ctx, token, "calendarView", next, http.Header{"Prefer": {utcPreference}}, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Value...)
		next = p.NextLink
	}
	return all, nil
}

// NewEvent is a meeting to create.
type NewEvent struct {
	Subject string           `json:"subject"`
	Start   DateTimeTimeZone `json:"start"`
	End     DateTimeTimeZone `json:"end"`
	ShowAs  string           `json:"showAs,omitempty"`
}

// CreateEvent creates an event in the signed-in user's calendar (POST
// /me/events, Calendars.ReadWrite).
// https://learn.microsoft.com/en-us/graph/api/user-post-events
func (c *Client) CreateEvent(ctx context.Context, token string, ev NewEvent) (Event, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return Event{}, fmt.Errorf("graph: encoding an event: %w", err)
	}
	res, err := c.do(ctx, token, "events", http.MethodPost, "/me/events", http.Header{"Prefer": {utcPreference}}, bytes.NewReader(body))
	if err != nil {
		return Event{}, err
	}
	defer res.Body.Close()
	var out Event
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil {
		return Event{}, fmt.Errorf("graph: POST /me/events: decoding the answer: %w", err)
	}
	return out, nil
}

// CancelEvent cancels a meeting the signed-in user organises, telling the
// attendees with comment; Graph moves it to Deleted Items. An attendee gets
// a 400 *Error.
// https://learn.microsoft.com/en-us/graph/api/event-cancel
func (c *Client) CancelEvent(ctx context.Context, token, id, comment string) error {
	body, err := json.Marshal(map[string]string{"comment": comment})
	if err != nil {
		return fmt.Errorf("graph: encoding a cancellation: %w", err)
	}
	res, err := c.do(ctx, token, "events", http.MethodPost, "/me/events/"+url.PathEscape(id)+"/cancel", nil, bytes.NewReader(body))
	if err != nil {
		return err
	}
	res.Body.Close()
	return nil
}

// DeleteEvent deletes an event of the signed-in user's calendar.
// https://learn.microsoft.com/en-us/graph/api/event-delete
func (c *Client) DeleteEvent(ctx context.Context, token, id string) error {
	res, err := c.do(ctx, token, "events", http.MethodDelete, "/me/events/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return err
	}
	res.Body.Close()
	return nil
}

// BatchRequest is one request of a JSON batch; URL is relative to the
// version ("/me/presence").
// https://learn.microsoft.com/en-us/graph/json-batching
type BatchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	// DependsOn names requests of the batch that must be answered
	// first: Graph runs a batch's requests in any order, at once, but
	// for these ("dependsOn").
	DependsOn []string `json:"dependsOn,omitempty"`
}

// BatchResponse is the answer to one request of a batch.
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// MaxBatch is the largest batch Graph accepts.
const MaxBatch = 20

// Batch sends up to MaxBatch requests in one POST /$batch and returns the
// answers by request id. Each answer has its own status: a batch of 200 may
// hold a 429 (each request is throttled on its own).
func (c *Client) Batch(ctx context.Context, token string, reqs []BatchRequest) (map[string]BatchResponse, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatch {
		return nil, fmt.Errorf("graph: a batch holds 1 to %d requests, not %d", MaxBatch, len(reqs))
	}
	reqs = slices.Clone(reqs)
	for i, r := range reqs {
		// "When a body is included with the request, the headers object
		// must contain a value for Content-Type."
		if len(r.Body) > 0 && header(r.Headers, "Content-Type") == "" {
			h := maps.Clone(r.Headers)
			if h == nil {
				h = map[string]string{}
			}
			h["Content-Type"] = "application/json"
			reqs[i].Headers = h
		}
	}
	body, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		return nil, fmt.Errorf("graph: encoding a batch: %w", err)
	}
	res, err := c.do(ctx, token, "$batch", http.MethodPost, "/$batch", nil, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out struct {
		Responses []BatchResponse `json:"responses"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("graph: POST /$batch: decoding the answer: %w", err)
	}
	byID := make(map[string]BatchResponse, len(out.Responses))
	for _, r := range out.Responses {
		byID[r.ID] = r
	}
	for _, r := range reqs {
		if a, ok := byID[r.ID]; ok {
			c.observe(batchEndpoint(r.URL), a.Status)
		}
	}
	for _, r := range reqs {
		if _, ok := byID[r.ID]; !ok {
			return nil, fmt.Errorf("graph: the batch answered no response for request %q", r.ID)
		}
	}
	return byID, nil
}

// Decode reads a successful answer into v, or returns the *Error of a
// failed one, with its Retry-After.
func (r BatchResponse) Decode(v any) error {
	if r.Status < 200 || r.Status >= 300 {
		return newError(r.Status, header(r.Headers, "Retry-After"), r.Body)
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("graph: batch response %s: %w", r.ID, err)
	}
	return nil
}

// header reads a header of a batch answer, whatever its case.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// UTCPreference is the Prefer header that asks for times in UTC, for the
// requests of a batch.
func UTCPreference() map[string]string { return map[string]string{"Prefer": utcPreference} }

// batchEndpoint names a batched request's endpoint for metrics: its path,
// without ids or query ("/me/calendarView").
func batchEndpoint(u string) string {
	p, _, _ := strings.Cut(u, "?")
	if strings.HasPrefix(p, "/me/events/") {
		return "/me/events/{id}"
	}
	return p
}

// Reply is the body of an answer to a meeting: a comment for the
// organiser, and whether to send it (Graph's default is to send).
type Reply struct {
	Comment      string
	SendResponse bool
}

// AcceptEvent accepts a meeting of the signed-in user's calendar (POST
// /me/events/{id}/accept, Calendars.ReadWrite); for an occurrence, that
// occurrence only.
// https://learn.microsoft.com/en-us/graph/api/event-accept
func (c *Client) AcceptEvent(ctx context.Context, token, id string, r Reply) error {
	return c.reply(ctx, token, id, "accept", r)
}

// TentativelyAcceptEvent answers a meeting "maybe".
// https://learn.microsoft.com/en-us/graph/api/event-tentativelyaccept
func (c *Client) TentativelyAcceptEvent(ctx context.Context, token, id string, r Reply) error {
	return c.reply(ctx, token, id, "tentativelyAccept", r)
}

// DeclineEvent declines a meeting: it leaves the calendar, and the
// organiser's copy shows the decline; for an occurrence, that occurrence
// only. A room's account declining a meeting frees the room.
// https://learn.microsoft.com/en-us/graph/api/event-decline
func (c *Client) DeclineEvent(ctx context.Context, token, id string, r Reply) error {
	return c.reply(ctx, token, id, "decline", r)
}

func (c *Client) reply(ctx context.Context, token, id, action string, r Reply) error {
	body, err := json.Marshal(map[string]any{"comment": r.Comment, "sendResponse": r.SendResponse})
	if err != nil {
		return fmt.Errorf("graph: encoding a reply: %w", err)
	}
	res, err := c.do(ctx, token, "events", http.MethodPost, "/me/events/"+url.PathEscape(id)+"/"+action, nil, bytes.NewReader(body))
	if err != nil {
		return err
	}
	drain(res)
	return nil
}

// EventChange is a change of an event: what is set changes, the rest
// stays.
type EventChange struct {
	Subject *string           `json:"subject,omitempty"`
	Start   *DateTimeTimeZone `json:"start,omitempty"`
	End     *DateTimeTimeZone `json:"end,omitempty"`
	ShowAs  *string           `json:"showAs,omitempty"`
}

// UpdateEvent changes an event of the signed-in user's calendar (PATCH
// /me/events/{id}, Calendars.ReadWrite) and returns it, times in UTC. Only
// a meeting's organiser may change its start and end: an attendee (a
// room's account, for someone else's meeting) gets a 400 *Error; decline
// it instead, or book another meeting beside it.
// https://learn.microsoft.com/en-us/graph/api/event-update
func (c *Client) UpdateEvent(ctx context.Context, token, id string, ch EventChange) (Event, error) {
	body, err := json.Marshal(ch)
	if err != nil {
		return Event{}, fmt.Errorf("graph: encoding an event change: %w", err)
	}
	res, err := c.do(ctx, token, "events", http.MethodPatch, "/me/events/"+url.PathEscape(id), http.Header{"Prefer": {utcPreference}}, bytes.NewReader(body))
	if err != nil {
		return Event{}, err
	}
	defer res.Body.Close()
	var out Event
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil {
		return Event{}, fmt.Errorf("graph: PATCH /me/events: decoding the answer: %w", err)
	}
	return out, nil
}

// GetEvent reads an event of the signed-in user's calendar (GET
// /me/events/{id}), times in UTC: a series master with its recurrence,
// too.
func (c *Client) GetEvent(ctx context.Context, token, id string) (Event, error) {
	var ev Event
	err := c.getJSON(ctx, token, "events", "/me/events/"+url.PathEscape(id), http.Header{"Prefer": {utcPreference}}, &ev)
	return ev, err
}

package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// MaxSchedules is the most mailboxes one getSchedule reads: "up to 20
// entities at once".
// https://learn.microsoft.com/en-us/graph/outlook-get-free-busy-schedule#limits-and-error-conditions
const MaxSchedules = 20

// ScheduleQuery asks for the free/busy of mailboxes (SMTP addresses of
// people or rooms) over a window under 62 days, in slots of Interval
// minutes (5 to 1440; 0 leaves Graph's 30).
type ScheduleQuery struct {
	Schedules  []string
	Start, End time.Time
	Interval   int
	// Sequential chains the requests of a $batch (dependsOn), so that
	// one of them at a time is under way: Outlook allows 4 concurrent
	// requests per app and mailbox, and a getSchedule counts against the
	// caller's.
	// https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits
	Sequential bool
}

// ScheduleInformation is one mailbox's free/busy.
// https://learn.microsoft.com/en-us/graph/api/resources/scheduleinformation
type ScheduleInformation struct {
	ScheduleID string `json:"scheduleId"`
	// AvailabilityView has a digit per slot: 0 free, 1 tentative, 2
	// busy, 3 out of office, 4 working elsewhere.
	AvailabilityView string         `json:"availabilityView"`
	ScheduleItems    []ScheduleItem `json:"scheduleItems"`
	WorkingHours     *WorkingHours  `json:"workingHours"`
	// Error is set, and the rest empty, when Graph could not read this
	// mailbox (an address it does not know).
	Error *FreeBusyError `json:"error"`
}

// ScheduleItem is a busy period. Subject, Location and IsPrivate are given
// only where the mailbox shares them (a room's calendar, one's own), and
// never for a private meeting.
// https://learn.microsoft.com/en-us/graph/api/resources/scheduleitem
type ScheduleItem struct {
	Status    string           `json:"status"`
	Start     DateTimeTimeZone `json:"start"`
	End       DateTimeTimeZone `json:"end"`
	Subject   string           `json:"subject"`
	Location  string           `json:"location"`
	IsPrivate bool             `json:"isPrivate"`
}

// WorkingHours are the days and hours a mailbox works.
// https://learn.microsoft.com/en-us/graph/api/resources/workinghours
type WorkingHours struct {
	DaysOfWeek []string `json:"daysOfWeek"`
	StartTime  string   `json:"startTime"`
	EndTime    string   `json:"endTime"`
	TimeZone   struct {
		Name string `json:"name"`
	} `json:"timeZone"`
}

// FreeBusyError is why one mailbox of a getSchedule has no free/busy.
// https://learn.microsoft.com/en-us/graph/api/resources/freebusyerror
type FreeBusyError struct {
	Message      string `json:"message"`
	ResponseCode string `json:"responseCode"`
}

// scheduleBody is getSchedule's request body.
func scheduleBody(schedules []string, q ScheduleQuery) ([]byte, error) {
	body := map[string]any{
		"schedules": schedules,
		"startTime": At(q.Start, time.UTC),
		"endTime":   At(q.End, time.UTC),
	}
	if q.Interval > 0 {
		body["availabilityViewInterval"] = q.Interval
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("graph: encoding a getSchedule: %w", err)
	}
	return b, nil
}

// Schedules reads the free/busy of q.Schedules with POST
// /me/calendar/getSchedule (Calendars.ReadBasic is enough), in the order
// asked, times in UTC: one request for up to 20 mailboxes, else requests of
// 20 in $batch (20 requests a batch). A mailbox Graph cannot read comes
// with its Error; a request Graph refuses (429, 400) is the *Error.
// https://learn.microsoft.com/en-us/graph/api/calendar-getschedule
func (c *Client) Schedules(ctx context.Context, token string, q ScheduleQuery) ([]ScheduleInformation, error) {
	var chunks [][]string
	for rest := q.Schedules; len(rest) > 0; {
		n := min(MaxSchedules, len(rest))
		chunks, rest = append(chunks, rest[:n]), rest[n:]
	}
	if len(chunks) == 1 {
		body, err := scheduleBody(chunks[0], q)
		if err != nil {
			return nil, err
		}
		res, err := c.do(ctx, token, "getSchedule", http.MethodPost, "/me/calendar/getSchedule", http.Header{"Prefer": {utcPreference}}, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var out struct {
			Value []ScheduleInformation `json:"value"`
		}
		if err := json.NewDecoder(io.LimitReader(res.Body, 8<<20)).Decode(&out); err != nil {
			return nil, fmt.Errorf("graph: POST /me/calendar/getSchedule: decoding the answer: %w", err)
		}
		return out.Value, nil
	}
	var all []ScheduleInformation
	for len(chunks) > 0 {
		n := min(MaxBatch, len(chunks))
		var reqs []BatchRequest
		for i, chunk := range chunks[:n] {
			body, err := scheduleBody(chunk, q)
			if err != nil {
				return nil, err
			}
			req := BatchRequest{ID: strconv.Itoa(i), Method: http.MethodPost, URL: "/me/calendar/getSchedule",
				Headers: map[string]string{"Content-Type": "application/json", "Prefer": utcPreference}, Body: body}
			if q.Sequential && i > 0 {
				req.DependsOn = []string{strconv.Itoa(i - 1)}
			}
			reqs = append(reqs, req)
		}
		res, err := c.Batch(ctx, token, reqs)
		if err != nil {
			return nil, err
		}
		for i := range reqs {
			var out struct {
				Value []ScheduleInformation `json:"value"`
			}
			if err := res[strconv.Itoa(i)].Decode(&out); err != nil {
				return nil, err
			}
			all = append(all, out.Value...)
		}
		chunks = chunks[n:]
	}
	return all, nil
}

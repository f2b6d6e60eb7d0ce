// Package sandboxctl is a Go client of the sandbox's control API (the JSON
// routes under /sandbox/api/ that TESTIDS.md lists) and of its phone page:
// what a test, a benchmark or a load generator does to the emulated tenant
// from outside, over HTTP, whether the sandbox runs inside an edge server
// or on its own (`placard sandbox`).
//
// The answers are the sandbox package's own types, so that the client and
// the server share one definition of every shape.
package sandboxctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// The shapes of the API's answers, named here so that a client's user need
// not import the sandbox itself (only main wires the sandbox in).
type (
	Faults       = sandbox.Faults
	UserInfo     = sandbox.UserInfo
	CodeInfo     = sandbox.CodeInfo
	AppInfo      = sandbox.AppInfo
	GraphRequest = sandbox.GraphRequest
	RoomsInfo    = sandbox.RoomsInfo
	RoomInfo     = sandbox.RoomInfo
	RoomListInfo = sandbox.RoomListInfo
	GroupInfo    = sandbox.GroupInfo
	Budgets      = sandbox.Budgets
	MailboxLoad  = sandbox.MailboxLoad
)

// ErrDeclined is BookAs's error when the room declined the meeting (it
// had accepted another at that time).
var ErrDeclined = sandbox.ErrDeclined

// Outcomes of the phone page, as Approve and Decline return them.
const (
	OutcomeApproved = sandbox.OutcomeApproved
	OutcomeDeclined = sandbox.OutcomeDeclined
	OutcomeExpired  = sandbox.OutcomeExpired
	OutcomeInvalid  = sandbox.OutcomeInvalid
	OutcomeUsed     = sandbox.OutcomeUsed
	OutcomeBlocked  = sandbox.OutcomeBlocked
	OutcomeConsent  = sandbox.OutcomeConsent
)

// Client talks to one sandbox.
type Client struct {
	base string
	http *http.Client
}

// New returns a client of the sandbox at base (the edge server's URL, or
// `placard sandbox`'s https one), sending through c (nil for
// http.DefaultClient). A long poll (UserRequestsAfter) waits longer than a
// client's Timeout allows: it is bounded by its context instead.
func New(base string, c *http.Client) *Client {
	if c == nil {
		c = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(base, "/"), http: c}
}

// URL is the sandbox's base URL.
func (c *Client) URL() string { return c.base }

// HTTP is the client's HTTP client (it trusts a standalone sandbox's
// certificate), for requests to the sandbox's other pages.
func (c *Client) HTTP() *http.Client { return c.http }

// Faults reads the failure switches.
func (c *Client) Faults(ctx context.Context) (Faults, error) {
	var f Faults
	err := c.call(ctx, http.MethodGet, "faults", nil, &f)
	return f, err
}

// SetFaults replaces the failure switches whole: what f leaves out is off.
func (c *Client) SetFaults(ctx context.Context, f Faults) error {
	return c.call(ctx, http.MethodPut, "faults", f, nil)
}

// Users lists the demo users.
func (c *Client) Users(ctx context.Context) ([]UserInfo, error) {
	var users []UserInfo
	err := c.call(ctx, http.MethodGet, "users", nil, &users)
	return users, err
}

// SetPresence sets a user's presence as Teams would: Graph's availability
// and activity values.
func (c *Client) SetPresence(ctx context.Context, upn, availability, activity string) error {
	body := map[string]string{"availability": availability, "activity": activity}
	return c.call(ctx, http.MethodPost, "users/"+url.PathEscape(upn)+"/presence", body, nil)
}

// AddEvent adds an event (a Graph event body: subject, start, end, ...) to
// a user's calendar and returns the event as Graph answers it.
func (c *Client) AddEvent(ctx context.Context, upn string, event any) (map[string]any, error) {
	var out map[string]any
	err := c.call(ctx, http.MethodPost, "users/"+url.PathEscape(upn)+"/events", event, &out)
	return out, err
}

// Revoke revokes every refresh token of a user.
func (c *Client) Revoke(ctx context.Context, upn string) error {
	return c.call(ctx, http.MethodPost, "users/"+url.PathEscape(upn)+"/revoke", struct{}{}, nil)
}

// Codes lists the device codes issued, newest first.
func (c *Client) Codes(ctx context.Context) ([]CodeInfo, error) {
	var codes []CodeInfo
	err := c.call(ctx, http.MethodGet, "codes", nil, &codes)
	return codes, err
}

// App returns what an outside client needs to use the emulated tenant.
func (c *Client) App(ctx context.Context) (AppInfo, error) {
	var app AppInfo
	err := c.call(ctx, http.MethodGet, "app", nil, &app)
	return app, err
}

// Calendar lists a user's events between start and end as Graph would,
// in UTC.
func (c *Client) Calendar(ctx context.Context, upn string, start, end time.Time) ([]map[string]any, error) {
	var out struct {
		Value []map[string]any `json:"value"`
	}
	q := url.Values{"start": {start.UTC().Format(time.RFC3339)}, "end": {end.UTC().Format(time.RFC3339)}}
	err := c.call(ctx, http.MethodGet, "users/"+url.PathEscape(upn)+"/calendar?"+q.Encode(), nil, &out)
	return out.Value, err
}

// Rooms lists the demo tenant's rooms and room lists.
func (c *Client) Rooms(ctx context.Context) (RoomsInfo, error) {
	var out RoomsInfo
	err := c.call(ctx, http.MethodGet, "rooms", nil, &out)
	return out, err
}

// SetRoomKeepsSubject sets whether a room's copies of meetings keep their
// subjects, or show the organiser's name (Exchange's default).
func (c *Client) SetRoomKeepsSubject(ctx context.Context, upn string, keep bool) (RoomInfo, error) {
	var out RoomInfo
	err := c.call(ctx, http.MethodPut, "rooms/"+url.PathEscape(upn), map[string]bool{"keep_subject": keep}, &out)
	return out, err
}

// Groups lists the demo tenant's groups and their members.
func (c *Client) Groups(ctx context.Context) ([]GroupInfo, error) {
	var out []GroupInfo
	err := c.call(ctx, http.MethodGet, "groups", nil, &out)
	return out, err
}

// BookAs books a meeting (a Graph event body: subject, start, end, ...) in
// mailbox's calendar as organizer would from Outlook, mailbox (a room)
// an attendee, and returns mailbox's copy as Graph writes it, in UTC: its
// "id" is the one mailbox's calendar has. A room that declines it (it has
// accepted another meeting then) is ErrDeclined; the organiser's calendar
// keeps the meeting with the decline.
func (c *Client) BookAs(ctx context.Context, mailbox, organizer string, event map[string]any) (map[string]any, error) {
	body := map[string]any{"organizer": organizer}
	for k, v := range event {
		body[k] = v
	}
	var out map[string]any
	err := c.call(ctx, http.MethodPost, "users/"+url.PathEscape(mailbox)+"/events", body, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusConflict {
		return nil, fmt.Errorf("%w: %v", ErrDeclined, err)
	}
	return out, err
}

// Events lists a user's events of a date (YYYY-MM-DD in the mailbox's
// zone; today when "") as Graph writes them in UTC, with their
// responseStatus and their attendees' responses.
func (c *Client) Events(ctx context.Context, upn, date string) ([]map[string]any, error) {
	var out struct {
		Value []map[string]any `json:"value"`
	}
	path := "users/" + url.PathEscape(upn) + "/events"
	if date != "" {
		path += "?date=" + url.QueryEscape(date)
	}
	err := c.call(ctx, http.MethodGet, path, nil, &out)
	return out.Value, err
}

// CancelMeeting cancels the event id of a user's calendar as its
// organiser: a room's copy stays, marked cancelled.
func (c *Client) CancelMeeting(ctx context.Context, upn, id string) error {
	return c.call(ctx, http.MethodDelete, "users/"+url.PathEscape(upn)+"/events/"+url.PathEscape(id), nil, nil)
}

// Budgets reads Graph's limits and what the sandbox's clients used of
// them: Outlook requests per mailbox per 10 minutes and at once, presence
// requests per 30 seconds.
func (c *Client) Budgets(ctx context.Context) (Budgets, error) {
	var out Budgets
	err := c.call(ctx, http.MethodGet, "budgets", nil, &out)
	return out, err
}

// Now reads the sandbox's clock: the time it serves, moved by Advance.
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	var out struct {
		Now time.Time `json:"now"`
	}
	err := c.call(ctx, http.MethodGet, "clock", nil, &out)
	return out.Now, err
}

// Advance moves the sandbox's clock forward by d and returns its time.
func (c *Client) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	var out struct {
		Now time.Time `json:"now"`
	}
	err := c.call(ctx, http.MethodPost, "clock", map[string]string{"advance": d.String()}, &out)
	return out.Now, err
}

// Requests counts the requests each endpoint of the emulated services
// received since the sandbox started ("graph /$batch", "token",
// "devicecode", ...).
func (c *Client) Requests(ctx context.Context) (map[string]int, error) {
	var counts map[string]int
	err := c.call(ctx, http.MethodGet, "requests", nil, &counts)
	return counts, err
}

// UserRequests lists the last Graph requests made with a user's tokens.
func (c *Client) UserRequests(ctx context.Context, upn string) ([]GraphRequest, error) {
	var log []GraphRequest
	err := c.call(ctx, http.MethodGet, "users/"+url.PathEscape(upn)+"/requests", nil, &log)
	return log, err
}

// UserRequestsAfter waits for the Graph requests made with a user's tokens
// numbered above after (the sandbox's long poll) and returns them: none
// when the sandbox's wait (25 s) ended first, and the caller asks again.
// It ignores the HTTP client's Timeout, which is shorter than the wait:
// ctx bounds it.
func (c *Client) UserRequestsAfter(ctx context.Context, upn string, after int) ([]GraphRequest, error) {
	long := *c.http
	long.Timeout = 0
	var log []GraphRequest
	err := (&Client{base: c.base, http: &long}).call(ctx, http.MethodGet,
		"users/"+url.PathEscape(upn)+"/requests?after="+strconv.Itoa(after), nil, &log)
	return log, err
}

// outcomeRE reads the phone page's outcome (TESTIDS.md: approval-result).
var outcomeRE = regexp.MustCompile(`data-testid="approval-result"[^>]*data-outcome="([a-z_]+)"`)

// Approve approves a user code as upn on the sandbox's phone page, as a
// person does, and returns the page's outcome: OutcomeApproved,
// or what refused it (an error only when the page could not be read).
func (c *Client) Approve(ctx context.Context, userCode, upn string) (string, error) {
	return c.phone(ctx, url.Values{"user_code": {userCode}, "user": {upn}, "action": {"approve"}})
}

// Decline declines a user code on the phone page and returns the outcome.
func (c *Client) Decline(ctx context.Context, userCode string) (string, error) {
	return c.phone(ctx, url.Values{"user_code": {userCode}, "action": {"decline"}})
}

func (c *Client) phone(ctx context.Context, form url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/sandbox/devicelogin", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("the sandbox's phone page: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("posting to the sandbox's phone page: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading the sandbox's phone page: %w", err)
	}
	m := outcomeRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("the sandbox's phone page answered %s with no outcome: %.200s", res.Status, b)
	}
	return string(m[1]), nil
}

// call sends a control API request with body as JSON (none when nil) and
// decodes the answer into out (when not nil). An answer that is not 2xx
// is an error with the API's own words ({"error": "..."}).
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("sandbox API %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/sandbox/api/"+path, r)
	if err != nil {
		return fmt.Errorf("sandbox API %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox API %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("sandbox API %s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return &apiError{status: res.StatusCode, text: fmt.Sprintf("sandbox API %s %s: %s: %s", method, path, res.Status, e.Error)}
		}
		return &apiError{status: res.StatusCode, text: fmt.Sprintf("sandbox API %s %s: %s: %.200s", method, path, res.Status, b)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("sandbox API %s %s: the answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// apiError is an answer of the control API that is not 2xx.
type apiError struct {
	status int
	text   string
}

func (e *apiError) Error() string { return e.text }

package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrResync says that Graph no longer holds a delta round's state (its
// token expired, or Graph reset the synchronization): the window must be
// read again from a new round. The error that carries it is also an
// *Error, with Graph's status and code.
// https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset
var ErrResync = errors.New("graph: the delta state is gone: read the window again from a new round")

// resyncError is Graph's answer that a round must start again: both an
// *Error and ErrResync.
type resyncError struct{ graph *Error }

func (e resyncError) Error() string   { return e.graph.Error() + " (start a new delta round)" }
func (e resyncError) Unwrap() []error { return []error{e.graph, ErrResync} }

// asResync returns err as a resyncError when Graph said the delta state is
// gone: "410 (gone)" (a synchronization reset), or a code such as
// syncStateNotFound ("In case of an expired token, the service should
// respond with a 40X-series error with error codes such as
// syncStateNotFound"; a real answer wrote SyncStateNotFound, with 410).
// https://learn.microsoft.com/en-us/graph/delta-query-overview#token-duration
func asResync(err error) error {
	var ge *Error
	if !errors.As(err, &ge) {
		return err
	}
	switch {
	case ge.Status == http.StatusGone, strings.EqualFold(ge.Code, "syncStateNotFound"), strings.EqualFold(ge.Code, "resyncRequired"),
		strings.EqualFold(ge.Code, "syncStateInvalid"):
		return resyncError{graph: ge}
	}
	return err
}

// DeltaQuery is one round of a calendar view's delta.
// https://learn.microsoft.com/en-us/graph/api/event-delta
type DeltaQuery struct {
	// Link is the last round's DeltaLink; "" starts a first round of
	// the window Start to End. A round from a Link keeps its window: a
	// new window needs a new round.
	Link string
	// User names whose calendar: "" for the signed-in user's, else an
	// id or user principal name (a calendar shared with the signed-in
	// user, with Calendars.Read.Shared).
	User       string
	Start, End time.Time
	// PageSize asks for pages of at most so many events (Prefer:
	// odata.maxpagesize); 0 leaves Graph's default.
	PageSize int
}

// DeltaRound is what one round of delta reported: events added or
// changed (whole), and the ids of events removed, which includes events
// deleted, declined, moved out of the window, and changed outside it
// ("Filter the events under @removed for the date range that your
// scenario requires": an id the caller does not hold is ignored).
type DeltaRound struct {
	Changed []Event
	Removed []string
	// DeltaLink starts the next round.
	DeltaLink string
	// Pages is how many requests the round took.
	Pages int
}

// maxDeltaPages bounds a round: a round of more pages than this (10,000
// events at 20 a page) is a server that never ends it.
const maxDeltaPages = 500

// CalendarDeltaPath is the relative URL of a first round of delta of
// user's calendar ("" for the signed-in user's) between start and end.
// Times without an offset are UTC; the window is encoded in the tokens.
func CalendarDeltaPath(user string, start, end time.Time) string {
	q := url.Values{}
	q.Set("startDateTime", start.UTC().Format(time.RFC3339))
	q.Set("endDateTime", end.UTC().Format(time.RFC3339))
	return calendarOf(user) + "/calendarView/delta?" + q.Encode()
}

// calendarOf is the path of a user's mailbox: /me or /users/{id}.
func calendarOf(user string) string {
	if user == "" {
		return "/me"
	}
	return "/users/" + url.PathEscape(user)
}

// deltaPage is one page of delta.
type deltaPage struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
}

// CalendarDelta reads one round of a calendar view's delta: from q.Link,
// or a first round of the window, following @odata.nextLink to the
// @odata.deltaLink. Times come in UTC. When Graph no longer holds the
// round's state the error is ErrResync (and an *Error): start a first
// round again.
func (c *Client) CalendarDelta(ctx context.Context, token string, q DeltaQuery) (DeltaRound, error) {
	next := q.Link
	if next == "" {
		next = CalendarDeltaPath(q.User, q.Start, q.End)
	}
	header := http.Header{"Prefer": {utcPreference}}
	if q.PageSize > 0 {
		header.Add("Prefer", "odata.maxpagesize="+strconv.Itoa(q.PageSize))
	}
	var round DeltaRound
	for next != "" {
		if round.Pages++; round.Pages > maxDeltaPages {
			return DeltaRound{}, fmt.Errorf("graph: calendarView delta has more than %d pages", maxDeltaPages)
		}
		var page deltaPage
		if err := c.getJSON(ctx, token, "calendarView/delta", next, header, &page); err != nil {
			return DeltaRound{}, asResync(err)
		}
		for _, raw := range page.Value {
			var item struct {
				ID      string `json:"id"`
				Removed *struct {
					Reason string `json:"reason"`
				} `json:"@removed"`
			}
			if err := json.Unmarshal(raw, &item); err != nil {
				return DeltaRound{}, fmt.Errorf("graph: calendarView delta: decoding an item: %w", err)
			}
			if item.Removed != nil {
				round.Removed = append(round.Removed, item.ID)
				continue
			}
			var ev Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				return DeltaRound{}, fmt.Errorf("graph: calendarView delta: decoding an event: %w", err)
			}
			round.Changed = append(round.Changed, ev)
		}
		next = page.NextLink
		if next == "" {
			if page.DeltaLink == "" {
				return DeltaRound{}, errors.New("graph: calendarView delta: a page with neither @odata.nextLink nor @odata.deltaLink")
			}
			round.DeltaLink = page.DeltaLink
		}
	}
	return round, nil
}

// drain reads and closes a response's body.
func drain(res *http.Response) {
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
}

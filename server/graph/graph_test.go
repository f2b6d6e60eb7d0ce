package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/sandbox"
)

func newClient(t *testing.T) (*graph.Client, *sandbox.Sandbox) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return graph.New("", &http.Client{Transport: sb.Transport()}), sb
}

func token(t *testing.T, sb *sandbox.Sandbox, upn string, scopes ...string) string {
	t.Helper()
	tok, err := sb.AccessToken(upn, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCalendarViewReturnsTheDaysEventsInOrder(t *testing.T) {
	c, sb := newClient(t)
	tok := token(t, sb, "ada@placard.example", "Calendars.Read")
	now := sb.Now()
	events, err := c.CalendarView(context.Background(), tok, now.Add(-12*time.Hour), now.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 4 {
		t.Fatalf("got %d events around now, want the demo's meeting now, next, cancelled and later", len(events))
	}
	var current, cancelled bool
	var last time.Time
	for _, ev := range events {
		start, err := ev.Start.Time()
		if err != nil {
			t.Fatal(err)
		}
		end, _ := ev.End.Time()
		if start.Before(last) {
			t.Errorf("events are not ordered by start: %v after %v", start, last)
		}
		last = start
		if !ev.IsAllDay && !start.After(now) && end.After(now) {
			current = true
		}
		cancelled = cancelled || ev.IsCancelled
	}
	if !current || !cancelled {
		t.Errorf("want a meeting under way now (%v) and a cancelled one (%v)", current, cancelled)
	}
}

func TestCalendarViewFollowsNextLinks(t *testing.T) {
	c, sb := newClient(t)
	tok := token(t, sb, "grace@placard.example", "Calendars.Read")
	now := sb.Now()
	// Ninety days hold more than one page of 100 events.
	events, err := c.CalendarView(context.Background(), tok, now, now.AddDate(0, 0, 90))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) <= 100 {
		t.Fatalf("got %d events in 90 days: the test needs more than a page", len(events))
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if seen[ev.ID] {
			t.Fatalf("event %s twice: paging repeats", ev.ID)
		}
		seen[ev.ID] = true
	}
}

func TestErrorsKeepGraphsCodeAndRetryAfter(t *testing.T) {
	c, sb := newClient(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		faults sandbox.Faults
		status int
		code   string
		retry  time.Duration
	}{
		{"no token", func() error { _, err := c.Me(ctx, ""); return err }, sandbox.Faults{}, 401, "InvalidAuthenticationToken", 0},
		{"tampered token", func() error { _, err := c.Me(ctx, token(t, sb, "ada@placard.example", "User.Read")+"x"); return err }, sandbox.Faults{}, 401, "InvalidAuthenticationToken", 0},
		{"missing scope for presence", func() error {
			_, err := c.Presence(ctx, token(t, sb, "ada@placard.example", "User.Read"))
			return err
		}, sandbox.Faults{}, 403, "Forbidden", 0},
		{"missing scope for the calendar", func() error {
			_, err := c.CalendarView(ctx, token(t, sb, "ada@placard.example", "User.Read"), time.Now(), time.Now().Add(time.Hour))
			return err
		}, sandbox.Faults{}, 403, "ErrorAccessDenied", 0},
		{"missing scope for the profile", func() error {
			_, err := c.Me(ctx, token(t, sb, "ada@placard.example", "Presence.Read"))
			return err
		}, sandbox.Faults{}, 403, "Authorization_RequestDenied", 0},
		{"throttled", func() error { _, err := c.Me(ctx, token(t, sb, "ada@placard.example", "User.Read")); return err },
			sandbox.Faults{GraphThrottleSeconds: 7}, 429, "TooManyRequests", 7 * time.Second},
		{"unavailable", func() error { _, err := c.Me(ctx, token(t, sb, "ada@placard.example", "User.Read")); return err },
			sandbox.Faults{GraphServerError: true}, 503, "serviceNotAvailable", 0},
		{"no mailbox", func() error {
			_, err := c.CalendarView(ctx, token(t, sb, "kim@placard.example", "Calendars.Read"), time.Now(), time.Now().Add(time.Hour))
			return err
		}, sandbox.Faults{}, 404, "MailboxNotEnabledForRESTAPI", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb.SetFaults(tt.faults)
			defer sb.SetFaults(sandbox.Faults{})
			err := tt.call()
			var ge *graph.Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %v is not a *graph.Error", err)
			}
			if ge.Status != tt.status || ge.Code != tt.code || ge.RetryAfter != tt.retry {
				t.Errorf("got %d %s retry %v, want %d %s retry %v", ge.Status, ge.Code, ge.RetryAfter, tt.status, tt.code, tt.retry)
			}
			if ge.RequestID == "" {
				t.Errorf("%v: no request id kept for support", ge)
			}
		})
	}
}

func TestBatchAnswersEachRequestWithItsOwnStatus(t *testing.T) {
	c, sb := newClient(t)
	tok := token(t, sb, "ada@placard.example", "User.Read", "Calendars.Read", "Presence.Read")
	now := sb.Now()
	res, err := c.Batch(context.Background(), tok, []graph.BatchRequest{
		{ID: "presence", Method: "GET", URL: "/me/presence"},
		{ID: "calendar", Method: "GET", URL: graph.CalendarViewPath(now, now.Add(24*time.Hour)), Headers: graph.UTCPreference()},
		{ID: "nope", Method: "GET", URL: "/me/nothing-here"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var p graph.Presence
	if err := res["presence"].Decode(&p); err != nil || p.Availability == "" {
		t.Errorf("presence in a batch: %+v, %v", p, err)
	}
	var page graph.EventPage
	if err := res["calendar"].Decode(&page); err != nil || len(page.Value) == 0 {
		t.Errorf("calendar in a batch: %d events, %v", len(page.Value), err)
	}
	if err := res["nope"].Decode(nil); graph.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("an unknown path in a batch: %v, want its own 400", err)
	}

	sb.SetFaults(sandbox.Faults{GraphThrottleSeconds: 3})
	res, err = c.Batch(context.Background(), tok, []graph.BatchRequest{{ID: "1", Method: "GET", URL: "/me/presence"}})
	if err != nil {
		t.Fatalf("a throttled request fails inside the batch, not the batch: %v", err)
	}
	err = res["1"].Decode(&p)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 429 || ge.RetryAfter != 3*time.Second {
		t.Errorf("throttled request in a batch: %v", err)
	}
}

func TestCreateEventNeedsReadWriteAndAppearsInTheCalendar(t *testing.T) {
	c, sb := newClient(t)
	ctx := context.Background()
	start := sb.Now().Add(48 * time.Hour).Truncate(time.Hour)
	ev := graph.NewEvent{Subject: "Quick booking", Start: graph.At(start, time.UTC), End: graph.At(start.Add(30*time.Minute), time.UTC)}
	if _, err := c.CreateEvent(ctx, token(t, sb, "ada@placard.example", "Calendars.Read"), ev); graph.StatusOf(err) != 403 {
		t.Fatalf("creating with Calendars.Read only: %v, want 403", err)
	}
	rw := token(t, sb, "ada@placard.example", "Calendars.ReadWrite")
	created, err := c.CreateEvent(ctx, rw, ev)
	if err != nil {
		t.Fatal(err)
	}
	events, err := c.CalendarView(ctx, rw, start, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		found = found || e.ID == created.ID
	}
	if !found {
		t.Fatalf("the created event %s is not in the calendar", created.ID)
	}
	if err := c.DeleteEvent(ctx, rw, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteEvent(ctx, rw, created.ID); graph.StatusOf(err) != 404 {
		t.Errorf("deleting twice: %v, want 404", err)
	}
}

func TestCancelEventIsForTheOrganiserOnly(t *testing.T) {
	c, sb := newClient(t)
	ctx := context.Background()
	rw := token(t, sb, "ada@placard.example", "Calendars.ReadWrite")
	start := sb.Now().Add(72 * time.Hour).Truncate(time.Hour)
	created, err := c.CreateEvent(ctx, rw, graph.NewEvent{Subject: "Retro", Start: graph.At(start, time.UTC), End: graph.At(start.Add(time.Hour), time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CancelEvent(ctx, rw, created.ID, "Moved to next week"); err != nil {
		t.Fatalf("the organiser cancels: %v", err)
	}
	events, err := c.CalendarView(ctx, rw, start, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.ID == created.ID {
			t.Fatalf("a cancelled meeting stays in its organiser's calendar: %+v", e)
		}
	}
	// Demo meetings of Ada's day are organised by someone else: she may
	// not cancel those.
	now := sb.Now()
	today, err := c.CalendarView(ctx, rw, now.Add(-12*time.Hour), now.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range today {
		if e.Organizer.EmailAddress.Address != "ada@placard.example" {
			err := c.CancelEvent(ctx, rw, e.ID, "")
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Status != http.StatusBadRequest || ge.Message != "Your request can't be completed. You need to be an organizer to cancel a meeting." {
				t.Errorf("an attendee cancels %q: %v, want Graph's 400", e.Subject, err)
			}
			return
		}
	}
	t.Fatal("no meeting organised by someone else in Ada's day")
}

func TestBatchedWritesCarryTheirContentType(t *testing.T) {
	c, sb := newClient(t)
	rw := token(t, sb, "ada@placard.example", "Calendars.ReadWrite")
	start := sb.Now().Add(96 * time.Hour).Truncate(time.Hour)
	body, err := json.Marshal(graph.NewEvent{Subject: "Batched", Start: graph.At(start, time.UTC), End: graph.At(start.Add(30*time.Minute), time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Batch(context.Background(), rw, []graph.BatchRequest{{ID: "book", Method: "POST", URL: "/me/events", Body: body}})
	if err != nil {
		t.Fatalf("a batch with a body and no Content-Type of its own: %v", err)
	}
	var ev graph.Event
	if err := res["book"].Decode(&ev); err != nil || ev.Subject != "Batched" || res["book"].Status != http.StatusCreated {
		t.Fatalf("batched POST /me/events: %d %+v %v", res["book"].Status, ev, err)
	}
}

// fakeGraph is a Graph that answers every request with one canned answer,
// for what the sandbox never does.
func fakeGraph(t *testing.T, status int, header http.Header, body string) *graph.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		maps.Copy(w.Header(), header)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return graph.New(srv.URL+"/v1.0", srv.Client())
}

func TestClientReadsWhatGraphMaySend(t *testing.T) {
	ctx := context.Background()
	t.Run("Retry-After as an HTTP date", func(t *testing.T) {
		c := fakeGraph(t, 503, http.Header{"Retry-After": {time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)}}, "")
		_, err := c.Me(ctx, "t")
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.RetryAfter < 50*time.Second || ge.RetryAfter > time.Minute {
			t.Fatalf("got %v, want a wait of about a minute", err)
		}
	})
	t.Run("an error body that is not Graph's", func(t *testing.T) {
		c := fakeGraph(t, 502, http.Header{"request-id": {"r-1"}}, "Bad gateway\n")
		_, err := c.Me(ctx, "t")
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.Code != "Bad Gateway" || ge.Message != "Bad gateway" || ge.RequestID != "r-1" {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("a batch that leaves a request out", func(t *testing.T) {
		c := fakeGraph(t, 200, http.Header{"Content-Type": {"application/json"}}, `{"responses":[{"id":"a","status":200,"body":{}}]}`)
		_, err := c.Batch(ctx, "t", []graph.BatchRequest{{ID: "a", Method: "GET", URL: "/me"}, {ID: "b", Method: "GET", URL: "/me/presence"}})
		if err == nil || !strings.Contains(err.Error(), `"b"`) {
			t.Fatalf("got %v, want an error naming request b", err)
		}
	})
	t.Run("a photo larger than any Graph serves", func(t *testing.T) {
		c := fakeGraph(t, 200, http.Header{"Content-Type": {"image/jpeg"}}, strings.Repeat("x", 4<<20+1))
		if _, _, err := c.Photo(ctx, "t"); err == nil {
			t.Fatal("a 4 MB photo was accepted")
		}
	})
}

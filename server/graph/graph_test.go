package graph_test

import (
	"context"
	"errors"
	"net/http"
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
		{"missing scope", func() error {
			_, err := c.Presence(ctx, token(t, sb, "ada@placard.example", "User.Read"))
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

package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/jpeg" // real photos are JPEGs
	_ "image/png"  // the sandbox's are PNGs
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/sandbox"
)

// Graph v1.0 through placard's Graph client: each endpoint placard uses,
// how Graph refuses, and JSON batching.

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// wantGraphError checks that err is Graph's error with status and code.
func wantGraphError(t *testing.T, err error, status int, code string) *graph.Error {
	t.Helper()
	var ge *graph.Error
	if !errors.As(err, &ge) {
		t.Fatalf("%v is not an answer of Graph, want %d %s", err, status, code)
	}
	t.Logf("Graph answered %d %s: %s", ge.Status, ge.Code, ge.Message)
	if ge.Status != status || ge.Code != code {
		t.Errorf("got %d %s, want %d %s", ge.Status, ge.Code, status, code)
	}
	if ge.RequestID == "" {
		t.Error("no request id")
	}
	return ge
}

func TestGraphEndpoints(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signIn(t, "grace@placard.example")
		token := s.result.AccessToken
		c := tg.graph()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		t.Run("/me", func(t *testing.T) {
			me, err := c.Me(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			if !guidRE.MatchString(me.ID) || me.UserPrincipalName == "" || me.DisplayName == "" {
				t.Errorf("profile %+v", me)
			}
			if !tg.real() && (me.DisplayName != "Grace Hopper" || me.Mail != "grace@placard.example") {
				t.Errorf("profile %+v", me)
			}
		})
		t.Run("/me/photo/$value", func(t *testing.T) {
			b, ctype, err := c.Photo(ctx, token)
			if tg.real() && graph.StatusOf(err) == http.StatusNotFound {
				wantGraphError(t, err, 404, "ImageNotFound")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, format, err := image.Decode(bytes.NewReader(b)); err != nil || "image/"+format != ctype {
				t.Errorf("a photo of type %s is %s: %v", ctype, format, err)
			}
		})
		t.Run("/me/presence", func(t *testing.T) {
			p, err := c.Presence(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			availabilities := []string{"Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle", "DoNotDisturb", "Offline", "PresenceUnknown"}
			if !slices.Contains(availabilities, p.Availability) || p.Activity == "" || p.ID != mustMe(t, c, token).ID {
				t.Errorf("presence %+v", p)
			}
			if tg.real() {
				return
			}
			if err := tg.sb.SetPresence("grace@placard.example", "DoNotDisturb", "Presenting"); err != nil {
				t.Fatal(err)
			}
			if p, err := c.Presence(ctx, token); err != nil || p.Availability != "DoNotDisturb" || p.Activity != "Presenting" {
				t.Errorf("presence after it was set: %+v %v", p, err)
			}
		})
		t.Run("/me/calendarView", func(t *testing.T) {
			now := time.Now()
			if !tg.real() {
				now = tg.sb.Now()
			}
			events, err := c.CalendarView(ctx, token, now.Add(-24*time.Hour), now.AddDate(0, 0, 60))
			if err != nil {
				t.Fatal(err)
			}
			// Grace's mailbox is in New York's zone; a real tenant's is
			// unknown here.
			var mailbox *time.Location
			if !tg.real() {
				mailbox, _ = time.LoadLocation("America/New_York")
			}
			checkEventOrder(t, events, mailbox)
			if !tg.real() && len(events) <= 100 {
				t.Errorf("%d events in two months: the demo calendar should need more than one page of 100", len(events))
			}
		})
		t.Run("events", func(t *testing.T) {
			if !slices.Contains(tg.scopes, "Calendars.ReadWrite") {
				t.Skip("PLACARD_SCOPES has no Calendars.ReadWrite: writing events is not tried")
			}
			start := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Hour)
			ev, err := c.CreateEvent(ctx, token, graph.NewEvent{Subject: "placard conformance", Start: graph.At(start, time.UTC), End: graph.At(start.Add(15*time.Minute), time.UTC), ShowAs: "free"})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := ev.Start.Time(); !got.Equal(start) || ev.Subject != "placard conformance" || ev.ShowAs != "free" {
				t.Errorf("created %+v", ev)
			}
			err = c.CancelEvent(ctx, token, ev.ID, "placard conformance suite")
			if tg.real() && err != nil {
				// What a tenant answers for cancelling an event without
				// attendees is not documented: report it, and clean up.
				t.Logf("cancelling an event without attendees: %v", err)
				if err := c.DeleteEvent(ctx, token, ev.ID); err != nil {
					t.Errorf("deleting the event: %v", err)
				}
				return
			}
			if err != nil {
				t.Errorf("cancelling a meeting one organises: %v", err)
			}
			// Cancelling moved it to Deleted Items: it is gone.
			err = c.DeleteEvent(ctx, token, ev.ID)
			wantGraphError(t, err, 404, "ErrorItemNotFound")
		})
	})
}

// TestCalendarViewKeepsItsOrderOnEveryDay reads Grace's calendar through
// placard's Graph client, as an account's watch does, on every day of more
// than two years, each at another time of day, with 2026-12-06 at every
// hour: the order of events holds whatever the date (DST changes, all-day
// events near midnight in New York).
func TestCalendarViewKeepsItsOrderOnEveryDay(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	var days []time.Time
	for d, i := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 0; d.Before(time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC)); d, i = d.AddDate(0, 0, 1), i+1 {
		days = append(days, d.Add(time.Duration(i*53%1440)*time.Minute))
	}
	for h := range 24 {
		days = append(days, time.Date(2026, 12, 6, h, 10, 0, 0, time.UTC))
	}
	newYork, _ := time.LoadLocation("America/New_York")
	ctx := context.Background()
	var token string
	for _, now := range days {
		sb, err := sandbox.New(sandbox.Options{Seed: 11, KeyFile: keyFile, Now: func() time.Time { return now },
			AccessTokenLifetime: 3 * 366 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if token == "" {
			// Good on every later day: one key, a long lifetime.
			if token, err = sb.AccessToken("grace@placard.example", "Calendars.Read"); err != nil {
				t.Fatal(err)
			}
		}
		c := graph.New(graph.DefaultBaseURL, &http.Client{Transport: sb.Transport(), Timeout: 10 * time.Second})
		events, err := c.CalendarView(ctx, token, now.Add(-38*time.Hour), now.Add(62*time.Hour))
		if err != nil {
			t.Fatalf("%s: %v", now.Format(time.RFC3339), err)
		}
		t.Run(now.Format(time.RFC3339), func(t *testing.T) { checkEventOrder(t, events, newYork) })
	}
}

// checkEventOrder checks that calendarView's events come in the order of
// their start ($orderby=start/dateTime), as Exchange keeps them. Graph
// writes an all-day event as midnight to midnight in whatever zone is
// asked ("All-day events always return midnight as the start and end time,
// regardless of time zone": jasonjoh/php-calendar#9, by a Microsoft
// engineer; microsoft-graph-docs#16798 and #6003), but keeps and sorts it at
// midnight in its mailbox's zone: in UTC, an all-day event of 6 December in
// New York is written at 00:00 and sorted at 05:00, after a meeting at
// 21:00 on the 5th. So an all-day event's place is checked against
// midnight in mailbox, or, when the mailbox's zone is not known (nil),
// against every zone's midnight (UTC−12 to UTC+14).
func checkEventOrder(t *testing.T, events []graph.Event, mailbox *time.Location) {
	t.Helper()
	var lo time.Time // no event may be kept before this
	for _, ev := range events {
		start, err := ev.Start.Time()
		if err != nil || ev.Start.TimeZone != "UTC" {
			t.Fatalf("event %q starts %+v (%v): times come in UTC as asked", ev.Subject, ev.Start, err)
		}
		earliest, latest := start, start
		if ev.IsAllDay {
			if start.Format("15:04:05") != "00:00:00" {
				t.Errorf("all-day %q starts at %s, not at midnight", ev.Subject, ev.Start.DateTime)
			}
			if mailbox != nil {
				kept := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, mailbox)
				earliest, latest = kept, kept
			} else {
				earliest, latest = start.Add(-14*time.Hour), start.Add(12*time.Hour)
			}
		}
		if latest.Before(lo) {
			t.Errorf("%q (%s) starts before the event before it", ev.Subject, ev.Start.DateTime)
		}
		lo = later(lo, earliest)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func mustMe(t *testing.T, c *graph.Client, token string) graph.User {
	t.Helper()
	me, err := c.Me(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return me
}

func TestGraphRefusesTokens(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		c := tg.graph()
		ctx := context.Background()
		t.Run("none", func(t *testing.T) {
			_, err := c.Me(ctx, "")
			wantGraphError(t, err, 401, "InvalidAuthenticationToken")
		})
		t.Run("not a token", func(t *testing.T) {
			_, err := c.Me(ctx, "not-a-token")
			wantGraphError(t, err, 401, "InvalidAuthenticationToken")
		})
		t.Run("tampered", func(t *testing.T) {
			s := tg.signIn(t, "ada@placard.example")
			for name, tampered := range tamperings(t, s.result.AccessToken) {
				t.Run(name, func(t *testing.T) {
					_, err := c.Me(ctx, tampered)
					wantGraphError(t, err, 401, "InvalidAuthenticationToken")
				})
			}
		})
		t.Run("expired", func(t *testing.T) {
			tg.sandboxOnly(t, "an expired token needs an hour's wait")
			s := tg.signIn(t, "ada@placard.example")
			tg.sb.Advance(91 * time.Minute)
			_, err := c.Me(ctx, s.result.AccessToken)
			if ge := wantGraphError(t, err, 401, "InvalidAuthenticationToken"); ge.Message != "Lifetime validation failed, the token is expired." {
				t.Errorf("message %q", ge.Message)
			}
		})
		t.Run("a permission not granted", func(t *testing.T) {
			tg.sandboxOnly(t, "a token with fewer permissions needs a second app registration")
			tok, err := tg.sb.AccessToken("ada@placard.example", "User.Read")
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Presence(ctx, tok)
			wantGraphError(t, err, 403, "Forbidden")
			now := tg.sb.Now()
			_, err = c.CalendarView(ctx, tok, now, now.Add(time.Hour))
			wantGraphError(t, err, 403, "ErrorAccessDenied")
		})
	})
}

func TestGraphFaults(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "Graph cannot be made to throttle or fail on purpose")
		tok, err := tg.sb.AccessToken("ada@placard.example", "User.Read", "Presence.Read")
		if err != nil {
			t.Fatal(err)
		}
		c := tg.graph()
		ctx := context.Background()
		tg.sb.SetFaults(sandbox.Faults{GraphThrottleSeconds: 17})
		_, err = c.Me(ctx, tok)
		if ge := wantGraphError(t, err, 429, "TooManyRequests"); ge.RetryAfter != 17*time.Second {
			t.Errorf("Retry-After %v", ge.RetryAfter)
		}
		res, err := c.Batch(ctx, tok, []graph.BatchRequest{{ID: "p", Method: "GET", URL: "/me/presence"}})
		if err != nil {
			t.Fatalf("a throttled batch: %v", err)
		}
		if ge := wantGraphError(t, res["p"].Decode(nil), 429, "TooManyRequests"); ge.RetryAfter != 17*time.Second {
			t.Errorf("Retry-After inside a batch %v", ge.RetryAfter)
		}
		tg.sb.SetFaults(sandbox.Faults{GraphServerError: true})
		_, err = c.Me(ctx, tok)
		wantGraphError(t, err, 503, "serviceNotAvailable")
		tg.sb.SetFaults(sandbox.Faults{GraphUnreachable: true})
		if _, err = c.Me(ctx, tok); err == nil || graph.StatusOf(err) != 0 {
			t.Errorf("Graph unreachable: %v, want an error with no answer", err)
		}
	})
}

func TestGraphJSONBatching(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signIn(t, "ada@placard.example")
		c := tg.graph()
		ctx := context.Background()
		// Two months of the sandbox's demo calendar fill more than one
		// page of 100; a real calendar is read for a day.
		now, span := time.Now(), 24*time.Hour
		if !tg.real() {
			now, span = tg.sb.Now(), 60*24*time.Hour
		}
		res, err := c.Batch(ctx, s.result.AccessToken, []graph.BatchRequest{
			{ID: "me", Method: "GET", URL: "/me"},
			{ID: "presence", Method: "GET", URL: "/me/presence"},
			{ID: "calendar", Method: "GET", URL: graph.CalendarViewPath(now, now.Add(span)), Headers: graph.UTCPreference()},
			{ID: "photo", Method: "GET", URL: "/me/photo/$value"},
			{ID: "nothing", Method: "GET", URL: "/me/nothing-here"},
		})
		if err != nil {
			t.Fatal(err)
		}
		var me graph.User
		if err := res["me"].Decode(&me); err != nil || me.ID == "" {
			t.Errorf("/me in a batch: %+v %v", me, err)
		}
		var p graph.Presence
		if err := res["presence"].Decode(&p); err != nil || p.Availability == "" {
			t.Errorf("presence in a batch: %+v %v", p, err)
		}
		var page graph.EventPage
		if err := res["calendar"].Decode(&page); err != nil {
			t.Errorf("calendarView in a batch: %v", err)
		}
		events, err := c.More(ctx, s.result.AccessToken, page)
		if err != nil {
			t.Errorf("following a batched page's next link: %v", err)
		}
		if !tg.real() && (page.NextLink == "" || len(events) <= len(page.Value)) {
			t.Errorf("a batched calendarView of 60 days: %d events in its first page, %d in all, next link %q; want more pages followed",
				len(page.Value), len(events), page.NextLink)
		}
		// Ada has a photo in the sandbox; a real account may have none.
		if st := res["photo"].Status; st != 200 && (st != 404 || !tg.real()) {
			t.Errorf("photo in a batch: %d", st)
		}
		wantGraphError(t, res["nothing"].Decode(nil), 400, "BadRequest")

		if _, err := c.Batch(ctx, s.result.AccessToken, make([]graph.BatchRequest, 21)); err == nil {
			t.Error("the client sent a batch of 21, which Graph refuses")
		}
	})
}

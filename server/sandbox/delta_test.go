package sandbox_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// round is a round of calendarView delta: what it reported, in order, and
// its deltaLink.
type round struct {
	changed   []map[string]any
	removed   []string
	deltaLink string
	pages     int
}

// deltaRound follows a round from first (a delta URL) through its
// nextLinks to its deltaLink.
func deltaRound(t *testing.T, c *http.Client, auth, first string, header ...string) round {
	t.Helper()
	var r round
	next := first
	for next != "" {
		if r.pages++; r.pages > 50 {
			t.Fatal("a round of more than 50 pages")
		}
		a := get(t, c, next, append([]string{"Authorization", auth}, header...)...)
		if a.status != 200 {
			t.Fatalf("page %d of a round: %d %s", r.pages, a.status, a.raw)
		}
		for _, v := range a.body["value"].([]any) {
			ev := v.(map[string]any)
			if ev["@odata.type"] != "#microsoft.graph.event" {
				t.Errorf("an item without its type: %v", ev)
			}
			if rm, ok := ev["@removed"].(map[string]any); ok {
				if rm["reason"] != "deleted" {
					t.Errorf("@removed %v", rm)
				}
				r.removed = append(r.removed, ev["id"].(string))
				continue
			}
			r.changed = append(r.changed, ev)
		}
		next, _ = a.body["@odata.nextLink"].(string)
		if next != "" && !strings.Contains(next, "$skiptoken=") {
			t.Errorf("nextLink %q without a $skiptoken", next)
		}
		if dl, ok := a.body["@odata.deltaLink"].(string); ok {
			if next != "" || !strings.Contains(dl, "$deltatoken=") {
				t.Errorf("deltaLink %q beside nextLink %q", dl, next)
			}
			r.deltaLink = dl
		}
	}
	if r.deltaLink == "" {
		t.Fatal("a round without a deltaLink")
	}
	return r
}

func ids(evs []map[string]any) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev["id"].(string))
	}
	slices.Sort(out)
	return out
}

func deltaURL(path string, start, end time.Time) string {
	q := url.Values{"startDateTime": {start.UTC().Format(time.RFC3339)}, "endDateTime": {end.UTC().Format(time.RFC3339)}}
	return graphBase + path + "?" + q.Encode()
}

func TestCalendarViewDelta(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	auth := bearer(t, sb, lobby, "Calendars.Read")
	from, to := monday.Truncate(24*time.Hour), monday.Truncate(24*time.Hour).Add(48*time.Hour)
	page2 := []string{"Prefer", "odata.maxpagesize=2"}

	first := deltaRound(t, c, auth, deltaURL("/me/calendarView/delta", from, to), page2...)
	full := view(t, c, auth, url.Values{"startDateTime": {from.Format(time.RFC3339)}, "endDateTime": {to.Format(time.RFC3339)}, "$top": {"100"}}.Encode())
	if got, want := ids(first.changed), ids(anys(full.body["value"])); !slices.Equal(got, want) || len(first.removed) != 0 || first.pages < 2 {
		t.Fatalf("the first round (%d pages) gave %v, calendarView %v", first.pages, got, want)
	}
	a := get(t, c, deltaURL("/me/calendarView/delta", from, to), append([]string{"Authorization", auth}, page2...)...)
	if !strings.Contains(a.header.Get("Preference-Applied"), "odata.maxpagesize=2") || len(a.body["value"].([]any)) != 2 {
		t.Errorf("Prefer: odata.maxpagesize=2: %q, %d items", a.header.Get("Preference-Applied"), len(a.body["value"].([]any)))
	}

	quiet := deltaRound(t, c, auth, first.deltaLink)
	if len(quiet.changed)+len(quiet.removed) != 0 || quiet.pages != 1 {
		t.Errorf("a round with no change: %+v", quiet)
	}
	// The user's log says which requests began a round of the window
	// and which went on from a link.
	log, err := sb.UserRequests(lobby)
	if err != nil {
		t.Fatal(err)
	}
	var rounds []string
	for _, r := range log {
		if r.Endpoint == "graph /me/calendarView/delta" {
			rounds = append(rounds, r.Round)
		}
	}
	wantRounds := []string{"first"}
	for range first.pages - 1 {
		wantRounds = append(wantRounds, "next")
	}
	wantRounds = append(wantRounds, "first", "next")
	if !slices.Equal(rounds, wantRounds) {
		t.Errorf("the log's rounds %v, want %v", rounds, wantRounds)
	}

	// A meeting booked from Outlook, one cancelled, one declined by the
	// room, one moved out of the window, one booked outside it.
	start := monday.Add(5 * time.Minute)
	booked, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: ada, Subject: "New", Start: start, End: start.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	r := deltaRound(t, c, auth, quiet.deltaLink)
	if len(r.changed) != 1 || r.changed[0]["id"] != booked.ID || len(r.removed) != 0 {
		t.Fatalf("after a booking: %v removed %v", ids(r.changed), r.removed)
	}
	if err := sb.CancelMeeting(lobby, booked.ID); err != nil {
		t.Fatal(err)
	}
	r = deltaRound(t, c, auth, r.deltaLink)
	if len(r.changed) != 1 || r.changed[0]["isCancelled"] != true {
		t.Fatalf("after a cancellation: %v", r.changed)
	}
	declined, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: grace, Subject: "Declined", Start: start.Add(30 * time.Minute), End: start.Add(40 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: ada, Subject: "Moved", Start: start.Add(45 * time.Minute), End: start.Add(50 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	r = deltaRound(t, c, auth, r.deltaLink)
	if len(r.changed) != 2 {
		t.Fatalf("two more bookings: %v", ids(r.changed))
	}
	room, ada0 := graphAs(t, sb, c, lobby), graphAs(t, sb, c, ada)
	if a := room("POST", "/me/events/"+declined.ID+"/decline", ""); a.status != 202 {
		t.Fatal(a.status)
	}
	org, _ := find(dayOf(t, sb, ada), withICal(moved.ICalUID))
	far := monday.AddDate(0, 0, 5)
	if a := ada0("PATCH", "/me/events/"+org.ID, eventBody("Moved", far, far.Add(time.Hour), "")); a.status != 200 {
		t.Fatalf("moving: %d %s", a.status, a.raw)
	}
	outside, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: ada, Subject: "Outside", Start: far.Add(3 * time.Hour), End: far.Add(4 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	r = deltaRound(t, c, auth, r.deltaLink)
	slices.Sort(r.removed)
	want := []string{declined.ID, moved.ID, outside.ID}
	slices.Sort(want)
	if len(r.changed) != 0 || !slices.Equal(r.removed, want) {
		t.Errorf("a decline, a move out of the window and a booking outside it: changed %v, removed %v, want %v", ids(r.changed), r.removed, want)
	}

	t.Run("times in UTC unless Prefer says", func(t *testing.T) {
		fresh := deltaRound(t, c, auth, deltaURL("/me/calendarView/delta", from, to), "Prefer", `outlook.timezone="Romance Standard Time"`)
		for _, ev := range fresh.changed {
			if z := ev["start"].(map[string]any)["timeZone"]; z != "Romance Standard Time" {
				t.Fatalf("a start in %v", z)
			}
		}
		for _, ev := range deltaRound(t, c, auth, deltaURL("/me/calendarView/delta", from, to)).changed {
			if z := ev["start"].(map[string]any)["timeZone"]; z != "UTC" {
				t.Fatalf("a start in %v without Prefer", z)
			}
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, p := range []string{"$select=subject", "$filter=isCancelled%20eq%20false", "$orderby=start/dateTime"} {
			wantGraph(t, get(t, c, deltaURL("/me/calendarView/delta", from, to)+"&"+p, "Authorization", auth), 400, "ErrorInvalidUrlQuery")
		}
		wantGraph(t, get(t, c, graphBase+"/me/calendarView/delta", "Authorization", auth), 400, "ErrorInvalidParameter")
		wantGraph(t, get(t, c, graphBase+"/me/calendarView/delta?$deltatoken=garbage", "Authorization", auth), 410, "SyncStateNotFound")
		// The window is the token's.
		wantGraph(t, get(t, c, r.deltaLink+"&startDateTime="+url.QueryEscape(from.Add(time.Hour).Format(time.RFC3339)), "Authorization", auth), 400, "ErrorInvalidUrlQuery")
		// A token is its mailbox's.
		other := strings.Replace(r.deltaLink, "/me/", "/users/"+grace+"/", 1)
		wantGraph(t, get(t, c, other, "Authorization", bearer(t, sb, grace, "Calendars.Read")), 410, "SyncStateNotFound")
	})
	t.Run("the request log says delta", func(t *testing.T) {
		reqs, err := sb.UserRequests(lobby)
		if err != nil {
			t.Fatal(err)
		}
		last := reqs[len(reqs)-1]
		if last.Endpoint != "graph /me/calendarView/delta" || last.Mailbox != lobby {
			t.Errorf("the last request: %+v", last)
		}
	})
}

func anys(v any) []map[string]any {
	var out []map[string]any
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func TestDeltaTokensExpireWithTheFault(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	auth := bearer(t, sb, lobby, "Calendars.Read")
	from := monday.Truncate(24 * time.Hour)
	old := deltaRound(t, c, auth, deltaURL("/me/calendarView/delta", from, from.Add(24*time.Hour)))
	sb.SetFaults(sandbox.Faults{ExpireDeltaTokens: true})
	wantGraph(t, get(t, c, old.deltaLink, "Authorization", auth), 410, "SyncStateNotFound")
	// A new round works while the switch stays on.
	renewed := deltaRound(t, c, auth, deltaURL("/me/calendarView/delta", from, from.Add(24*time.Hour)))
	if r := deltaRound(t, c, auth, renewed.deltaLink); len(r.changed) != 0 {
		t.Errorf("after a resync: %v", ids(r.changed))
	}
	sb.SetFaults(sandbox.Faults{ExpireDeltaTokens: true, LatencyMS: 1}) // still on: nothing expires
	if a := get(t, c, renewed.deltaLink, "Authorization", auth); a.status != 200 {
		t.Errorf("the switch left on expired a token: %d", a.status)
	}
	sb.SetFaults(sandbox.Faults{})
	sb.SetFaults(sandbox.Faults{ExpireDeltaTokens: true})
	wantGraph(t, get(t, c, renewed.deltaLink, "Authorization", auth), 410, "SyncStateNotFound")
}

func TestDeltaTokensOutliveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := func(o *sandbox.Options) {
		o.Now = func() time.Time { return monday }
		o.KeyFile, o.StateFile = filepath.Join(dir, "key.pem"), filepath.Join(dir, "state.json")
	}
	sb, c := newSandbox(t, files)
	auth := bearer(t, sb, lobby, "Calendars.Read")
	from := monday.Truncate(24 * time.Hour)
	r := deltaRound(t, c, auth, deltaURL("/me/calendarView/delta", from, from.Add(24*time.Hour)))
	booked, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: ada, Subject: "Across a restart", Start: monday.Add(10 * time.Minute), End: monday.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	again, c2 := newSandbox(t, files)
	next := deltaRound(t, c2, bearer(t, again, lobby, "Calendars.Read"), r.deltaLink)
	if len(next.changed) != 1 || next.changed[0]["id"] != booked.ID {
		t.Errorf("after a restart: %v", ids(next.changed))
	}
	// A sandbox with another key cannot read the token: it has expired.
	other, c3 := newSandbox(t, func(o *sandbox.Options) { o.Now = func() time.Time { return monday } })
	wantGraph(t, get(t, c3, r.deltaLink, "Authorization", bearer(t, other, lobby, "Calendars.Read")), 410, "SyncStateNotFound")
	_ = c
}

func TestDeltaOfAnotherMailbox(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	from := monday.Truncate(24 * time.Hour)
	shared := bearer(t, sb, ada, "Calendars.Read.Shared")
	r := deltaRound(t, c, shared, deltaURL("/users/"+lobby+"/calendarView/delta", from, from.Add(24*time.Hour)))
	if len(r.changed) == 0 || !strings.Contains(r.deltaLink, "/users/"+lobby+"/calendarView/delta?") {
		t.Errorf("a room's calendar, shared with everyone: %d events, deltaLink %q", len(r.changed), r.deltaLink)
	}
	// Calendars.Read reads one's own calendars only; a person's calendar
	// is not shared.
	wantGraph(t, get(t, c, deltaURL("/users/"+lobby+"/calendarView/delta", from, from.Add(24*time.Hour)), "Authorization", bearer(t, sb, ada, "Calendars.Read")), 403, "ErrorAccessDenied")
	wantGraph(t, get(t, c, deltaURL("/users/"+grace+"/calendarView/delta", from, from.Add(24*time.Hour)), "Authorization", shared), 403, "ErrorAccessDenied")
	wantGraph(t, get(t, c, deltaURL("/users/nobody@placard.example/calendarView/delta", from, from.Add(24*time.Hour)), "Authorization", shared), 404, "ErrorInvalidUser")
	reqs, _ := sb.UserRequests(ada)
	if last := reqs[len(reqs)-1]; last.Endpoint != "graph /users/{user}/calendarView/delta" {
		t.Errorf("the request log: %+v", last)
	}
}

// A first round of calendarView delta reports what calendarView lists on
// every kind of day, and the round after it nothing: across month and year
// ends, the spring and autumn changes of clocks in Europe and the United
// States, a leap day, and 2026-12-06 around midnight, for a person and a
// room in zones of their own. The demo calendars themselves are walked over
// two years in TestDemoCalendarsHoldOnEveryDay.
func TestDeltaMatchesCalendarViewOnEveryKindOfDay(t *testing.T) {
	t.Parallel()
	days := []time.Time{
		time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC),  // a month's end
		time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC),     // clocks go forward in New York
		time.Date(2026, 3, 29, 0, 45, 0, 0, time.UTC),   // and in Europe
		time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC),  // back in Europe
		time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC),   // and in New York
		time.Date(2026, 12, 6, 0, 10, 0, 0, time.UTC),   // the day the suite once failed on
		time.Date(2026, 12, 6, 23, 50, 0, 0, time.UTC),  // and its last minutes
		time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), // a year's end
		time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC),   // a leap day
	}
	for _, now := range days {
		sb, c := newSandbox(t, func(o *sandbox.Options) { o.Now = func() time.Time { return now } })
		for _, upn := range []string{ada, lobby} {
			auth := bearer(t, sb, upn, "Calendars.Read")
			from := now.Truncate(24 * time.Hour).Add(-24 * time.Hour)
			to := from.Add(72 * time.Hour)
			first := deltaRound(t, c, auth, deltaURL("/me/calendarView/delta", from, to), "Prefer", "odata.maxpagesize=3")
			full := view(t, c, auth, url.Values{"startDateTime": {from.Format(time.RFC3339)}, "endDateTime": {to.Format(time.RFC3339)}, "$top": {"200"}}.Encode())
			got, want := ids(first.changed), ids(anys(full.body["value"]))
			if len(want) == 0 || !slices.Equal(got, want) || len(first.removed) != 0 {
				t.Errorf("%s on %s: the first round gave %v, calendarView %v", upn, now.Format(time.RFC3339), got, want)
			}
			if again := deltaRound(t, c, auth, first.deltaLink); len(again.changed)+len(again.removed) != 0 {
				t.Errorf("%s on %s: a round with no change gave %v, removed %v", upn, now.Format(time.RFC3339), ids(again.changed), again.removed)
			}
		}
	}
}

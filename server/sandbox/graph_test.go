package sandbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

func bearer(t *testing.T, sb *sandbox.Sandbox, upn string, scopes ...string) string {
	t.Helper()
	tok, err := sb.AccessToken(upn, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

func TestGraphRefusesTokensInItsOwnWords(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	good := bearer(t, sb, ada, "User.Read")
	parts := strings.Split(strings.TrimPrefix(good, "Bearer "), ".")
	tests := []struct {
		name, auth, message string
	}{
		{"no header", "", "Access token is empty."},
		{"empty bearer", "Bearer ", "Access token is empty."},
		{"not a JWT", "Bearer abc", "IDX14100: JWT is not well formed, there are no dots (.)."},
		{"bad signature", good[:len(good)-4] + "AAAA", "Access token validation failure."},
		{"another payload", "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"oid":"x"}`)) + "." + parts[2], "Access token validation failure."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, c, graphBase+"/me", "Authorization", tt.auth)
			msg := wantGraph(t, a, 401, "InvalidAuthenticationToken")
			if !strings.HasPrefix(msg, tt.message) {
				t.Errorf("message %q, want %q", msg, tt.message)
			}
			if wa := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`) {
				t.Errorf("WWW-Authenticate %q", wa)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		sb, c := newSandbox(t)
		auth := bearer(t, sb, ada, "User.Read")
		sb.Advance(91 * time.Minute)
		msg := wantGraph(t, get(t, c, graphBase+"/me", "Authorization", auth), 401, "InvalidAuthenticationToken")
		if msg != "Lifetime validation failed, the token is expired." {
			t.Errorf("message %q", msg)
		}
	})
}

func TestGraphRefusesAMissingPermissionAsEachWorkloadDoes(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	tests := []struct {
		path, scope, code, message string
	}{
		{"/me", "Presence.Read", "Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
		{"/me/photo/$value", "Presence.Read", "Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
		{"/me/presence", "User.Read", "Forbidden", "Missing scope permissions on the request. API requires one of 'Presence.Read, Presence.Read.All'. Scopes on the request 'User.Read'"},
		{"/me/calendarView?startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-01-02T00:00:00Z", "User.Read", "ErrorAccessDenied", "Access is denied. Check credentials and try again."},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			msg := wantGraph(t, get(t, c, graphBase+tt.path, "Authorization", bearer(t, sb, ada, tt.scope)), 403, tt.code)
			if msg != tt.message {
				t.Errorf("message %q, want %q", msg, tt.message)
			}
		})
	}
	t.Run("writing with Calendars.Read", func(t *testing.T) {
		wantGraph(t, send(t, c, "POST", graphBase+"/me/events", `{"subject":"x"}`, "Authorization", bearer(t, sb, ada, "Calendars.Read")), 403, "ErrorAccessDenied")
	})
}

func TestGraphAnswersPathsAndMethodsItDoesNotServe(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, ada, "User.Read")
	if msg := wantGraph(t, get(t, c, graphBase+"/me/nothing-here", "Authorization", auth), 400, "BadRequest"); msg != "Resource not found for the segment 'nothing-here'." {
		t.Errorf("unknown segment: %q", msg)
	}
	if msg := wantGraph(t, get(t, c, "https://graph.microsoft.com/v9.9/me", "Authorization", auth), 400, "BadRequest"); msg != "Invalid version: v9.9" {
		t.Errorf("unknown version: %q", msg)
	}
	wantGraph(t, send(t, c, "PATCH", graphBase+"/me/presence", `{}`, "Authorization", auth), 405, "Request_BadRequest")
}

func TestAccountWithoutMailboxOrTeams(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, kim, "User.Read", "Calendars.ReadWrite", "Presence.Read")
	me := get(t, c, graphBase+"/me", "Authorization", auth)
	if me.status != 200 || me.body["displayName"] != "Kim Park" || me.body["mail"] != nil {
		t.Errorf("/me of an account without a mailbox: %d %s", me.status, me.raw)
	}
	wantGraph(t, get(t, c, graphBase+"/me/presence", "Authorization", auth), 404, "NotFound")
	wantGraph(t, get(t, c, graphBase+"/me/photo/$value", "Authorization", auth), 404, "ImageNotFound")
	msg := wantGraph(t, get(t, c, graphBase+"/me/calendarView?startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-01-02T00:00:00Z", "Authorization", auth), 404, "MailboxNotEnabledForRESTAPI")
	if msg != "The mailbox is either inactive, soft-deleted, or is hosted on-premise." {
		t.Errorf("message %q", msg)
	}
	wantGraph(t, send(t, c, "POST", graphBase+"/me/events", `{"subject":"x"}`, "Authorization", auth), 404, "MailboxNotEnabledForRESTAPI")
}

func TestPhotosArePNGsAndARoomHasNone(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	for _, upn := range []string{ada, grace} {
		a := get(t, c, graphBase+"/me/photo/$value", "Authorization", bearer(t, sb, upn, "User.Read"))
		if a.status != 200 || a.header.Get("Content-Type") != "image/png" {
			t.Fatalf("%s: %d %s", upn, a.status, a.header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(a.raw))
		if err != nil || img.Bounds().Dx() != 96 {
			t.Errorf("%s's photo is not a 96-pixel PNG: %v", upn, err)
		}
	}
	wantGraph(t, get(t, c, graphBase+"/me/photo/$value", "Authorization", bearer(t, sb, lobby, "User.Read")), 404, "ImageNotFound")
}

// view reads a calendarView page.
func view(t *testing.T, c *http.Client, auth, query string, header ...string) answer {
	t.Helper()
	return get(t, c, graphBase+"/me/calendarView?"+query, append([]string{"Authorization", auth}, header...)...)
}

func TestCalendarViewQueryOptions(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, grace, "Calendars.Read")
	now := sb.Now()
	window := url.Values{"startDateTime": {now.Add(-24 * time.Hour).UTC().Format(time.RFC3339)}, "endDateTime": {now.AddDate(0, 0, 14).UTC().Format(time.RFC3339)}}

	t.Run("the window is required", func(t *testing.T) {
		wantGraph(t, view(t, c, auth, "startDateTime=2026-01-01T00:00:00"), 400, "ErrorInvalidParameter")
		wantGraph(t, view(t, c, auth, "startDateTime=tuesday&endDateTime=wednesday"), 400, "ErrorInvalidParameter")
	})
	t.Run("ten a page, then next links", func(t *testing.T) {
		a := view(t, c, auth, window.Encode())
		values := a.body["value"].([]any)
		next, _ := a.body["@odata.nextLink"].(string)
		if len(values) != 10 || !strings.HasPrefix(next, graphBase+"/me/calendarView?") || !strings.Contains(next, "%24skip=10") {
			t.Fatalf("%d events, next %q", len(values), next)
		}
		b := get(t, c, next, "Authorization", auth)
		if b.status != 200 || b.body["value"].([]any)[0].(map[string]any)["id"] == values[0].(map[string]any)["id"] {
			t.Errorf("the next page: %d %s", b.status, b.raw)
		}
	})
	t.Run("$select keeps id and etag", func(t *testing.T) {
		q := maps.Clone(window)
		q.Set("$select", "subject,start")
		ev := view(t, c, auth, q.Encode()).body["value"].([]any)[0].(map[string]any)
		if len(ev) != 4 || ev["id"] == nil || ev["@odata.etag"] == nil || ev["subject"] == nil || ev["start"] == nil {
			t.Errorf("selected event %v", ev)
		}
		q.Set("$select", "subject,colour")
		if msg := wantGraph(t, view(t, c, auth, q.Encode()), 400, "RequestBroker--ParseUri"); !strings.Contains(msg, "'colour'") ||
			!strings.Contains(msg, "Microsoft.OutlookServices.Event") {
			t.Errorf("message %q", msg)
		}
		// A window with no event checks the $select all the same.
		empty := url.Values{"startDateTime": {"2020-01-01T00:00:00Z"}, "endDateTime": {"2020-01-01T00:00:01Z"}, "$select": {"colour"}}
		wantGraph(t, view(t, c, auth, empty.Encode()), 400, "RequestBroker--ParseUri")
	})
	t.Run("$orderby", func(t *testing.T) {
		q := url.Values{"startDateTime": window["startDateTime"], "endDateTime": window["endDateTime"], "$orderby": {"start/dateTime desc"}, "$top": {"50"}}
		checkKeptOrder(t, view(t, c, auth, q.Encode()).body["value"].([]any), "desc")
		q.Set("$orderby", "colour")
		wantGraph(t, view(t, c, auth, q.Encode()), 400, "RequestBroker--ParseUri")
		q.Set("$orderby", "start/dateTime")
		q.Set("$top", "-1")
		wantGraph(t, view(t, c, auth, q.Encode()), 400, "RequestBroker--ParseUri")
	})
	t.Run("Prefer: outlook.timezone", func(t *testing.T) {
		for _, zone := range []struct{ asked, iana string }{{"Pacific Standard Time", "America/Los_Angeles"}, {"Europe/Paris", "Europe/Paris"}} {
			a := view(t, c, auth, window.Encode(), "Prefer", `outlook.timezone="`+zone.asked+`"`)
			if a.header.Get("Preference-Applied") != `outlook.timezone="`+zone.asked+`"` {
				t.Errorf("Preference-Applied %q", a.header.Get("Preference-Applied"))
			}
			ev := a.body["value"].([]any)[0].(map[string]any)
			if ev["isAllDay"] == true {
				continue
			}
			start := ev["start"].(map[string]any)
			loc, _ := time.LoadLocation(zone.iana)
			local, err := time.ParseInLocation("2006-01-02T15:04:05.0000000", start["dateTime"].(string), loc)
			if err != nil || start["timeZone"] != zone.asked {
				t.Fatalf("start %v: %v", start, err)
			}
			utc := view(t, c, auth, window.Encode()).body["value"].([]any)[0].(map[string]any)["start"].(map[string]any)
			inUTC, _ := time.Parse("2006-01-02T15:04:05.0000000", utc["dateTime"].(string))
			if !local.Equal(inUTC) || utc["timeZone"] != "UTC" {
				t.Errorf("%s in %s is %v; in UTC %v", start["dateTime"], zone.asked, local, utc)
			}
		}
	})
}

func TestEventsByIDAsExchangeFindsThem(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, ada, "Calendars.ReadWrite")
	wantGraph(t, get(t, c, graphBase+"/me/events/not-an-id", "Authorization", auth), 400, "ErrorInvalidIdMalformed")
	wantGraph(t, get(t, c, graphBase+"/me/events/AAMkAGI2"+strings.Repeat("x", 42), "Authorization", auth), 404, "ErrorItemNotFound")
	created := send(t, c, "POST", graphBase+"/me/events",
		`{"subject":"Ping","start":{"dateTime":"2030-01-07T10:00:00","timeZone":"Romance Standard Time"},"end":{"dateTime":"2030-01-07T10:30:00","timeZone":"Romance Standard Time"}}`,
		"Authorization", auth)
	if created.status != 201 || !strings.HasPrefix(created.header.Get("Location"), graphBase+"/users(") {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	// Without Prefer, times come back in the zone they were given in.
	if st := created.body["start"].(map[string]any); st["dateTime"] != "2030-01-07T10:00:00.0000000" || st["timeZone"] != "Romance Standard Time" {
		t.Errorf("start %v", st)
	}
	id := created.body["id"].(string)
	got := get(t, c, graphBase+"/me/events/"+id, "Authorization", auth, "Prefer", `outlook.timezone="UTC"`)
	if got.status != 200 || got.body["start"].(map[string]any)["dateTime"] != "2030-01-07T09:00:00.0000000" || got.body["isOrganizer"] != true {
		t.Errorf("get: %d %s", got.status, got.raw)
	}
	if a := send(t, c, "DELETE", graphBase+"/me/events/"+id, "", "Authorization", auth); a.status != 204 {
		t.Errorf("delete: %d %s", a.status, a.raw)
	}
	wantGraph(t, get(t, c, graphBase+"/me/events/"+id, "Authorization", auth), 404, "ErrorItemNotFound")
	for _, body := range []string{"", `{"subject":"x"}`, `{"start":{"dateTime":"2030-01-07T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2030-01-07T09:00:00","timeZone":"UTC"}}`,
		`{"start":{"dateTime":"2030-01-07T10:00:00","timeZone":"Mars/Olympus"},"end":{"dateTime":"2030-01-07T11:00:00","timeZone":"UTC"}}`} {
		wantGraph(t, send(t, c, "POST", graphBase+"/me/events", body, "Authorization", auth), 400, "ErrorInvalidRequest")
	}
}

// batch posts a JSON batch and returns its answers by id.
func batch(t *testing.T, c *http.Client, auth string, requests ...map[string]any) (answer, map[string]map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"requests": requests})
	a := send(t, c, "POST", graphBase+"/$batch", string(body), "Authorization", auth)
	byID := map[string]map[string]any{}
	if rs, ok := a.body["responses"].([]any); ok {
		for _, r := range rs {
			m := r.(map[string]any)
			byID[m["id"].(string)] = m
		}
	}
	return a, byID
}

func TestJSONBatching(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, ada, "User.Read", "Presence.Read", "Calendars.ReadWrite")
	req := func(id, method, u string) map[string]any { return map[string]any{"id": id, "method": method, "url": u} }

	t.Run("each request has its own status", func(t *testing.T) {
		a, res := batch(t, c, auth, req("1", "GET", "/me"), req("2", "GET", "me/presence"), req("3", "GET", "/me/photo/$value"), req("4", "GET", "/me/nope"))
		if a.status != 200 || res["1"]["status"] != float64(200) || res["2"]["status"] != float64(200) || res["4"]["status"] != float64(400) {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		photo, err := base64.StdEncoding.DecodeString(res["3"]["body"].(string))
		if err != nil || !bytes.HasPrefix(photo, []byte("\x89PNG")) || res["3"]["headers"].(map[string]any)["Content-Type"] != "image/png" {
			t.Errorf("a photo in a batch is base64 of the PNG: %v", err)
		}
	})
	t.Run("throttled one by one", func(t *testing.T) {
		sb.SetFaults(sandbox.Faults{GraphThrottleSeconds: 9})
		defer sb.SetFaults(sandbox.Faults{})
		a, res := batch(t, c, auth, req("1", "GET", "/me/presence"))
		if a.status != 200 || res["1"]["status"] != float64(429) || res["1"]["headers"].(map[string]any)["Retry-After"] != "9" {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("dependsOn", func(t *testing.T) {
		r2 := req("b", "GET", "/me")
		r2["dependsOn"] = []string{"a"}
		_, res := batch(t, c, auth, req("a", "GET", "/me/nope"), r2)
		if res["b"]["status"] != float64(424) {
			t.Errorf("a request whose dependency failed: %v, want 424", res["b"])
		}
	})
	t.Run("a write needs its Content-Type", func(t *testing.T) {
		w := req("w", "POST", "/me/events")
		w["body"] = map[string]any{"subject": "x"}
		a, _ := batch(t, c, auth, w)
		wantGraph(t, a, 400, "BadRequest")
		w["headers"] = map[string]string{"Content-Type": "application/json"}
		w["body"] = map[string]any{"subject": "Batched", "start": map[string]string{"dateTime": "2030-02-01T10:00:00", "timeZone": "UTC"}, "end": map[string]string{"dateTime": "2030-02-01T11:00:00", "timeZone": "UTC"}}
		if _, res := batch(t, c, auth, w); res["w"]["status"] != float64(201) {
			t.Errorf("a batched POST with its Content-Type: %v", res["w"])
		}
	})
	t.Run("the batch fails whole", func(t *testing.T) {
		many := []map[string]any{}
		for i := range 21 {
			many = append(many, req(fmt.Sprint(i), "GET", "/me"))
		}
		a, _ := batch(t, c, auth, many...)
		wantGraph(t, a, 400, "BadRequest")
		a, _ = batch(t, c, auth, req("x", "GET", "/me"), req("X", "GET", "/me/presence"))
		wantGraph(t, a, 400, "BadRequest")
		a, _ = batch(t, c, auth)
		wantGraph(t, a, 400, "BadRequest")
		wantGraph(t, send(t, c, "POST", graphBase+"/$batch", `{"requests":`, "Authorization", auth), 400, "BadRequest")
	})
	t.Run("an expired token fails each request", func(t *testing.T) {
		sb, c := newSandbox(t)
		auth := bearer(t, sb, ada, "User.Read")
		sb.Advance(2 * time.Hour)
		a, res := batch(t, c, auth, req("1", "GET", "/me"))
		if a.status != 200 || res["1"]["status"] != float64(401) {
			t.Errorf("%d %s", a.status, a.raw)
		}
	})
}

func TestFaultSwitchesOfGraph(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	auth := bearer(t, sb, ada, "User.Read")
	sb.SetFaults(sandbox.Faults{GraphThrottleSeconds: 30})
	a := get(t, c, graphBase+"/me", "Authorization", auth)
	wantGraph(t, a, 429, "TooManyRequests")
	if a.header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
	}
	sb.SetFaults(sandbox.Faults{GraphServerError: true})
	wantGraph(t, get(t, c, graphBase+"/me", "Authorization", auth), 503, "serviceNotAvailable")
	body, _ := json.Marshal(map[string]any{"requests": []map[string]any{{"id": "1", "method": "GET", "url": "/me"}}})
	wantGraph(t, send(t, c, "POST", graphBase+"/$batch", string(body), "Authorization", auth), 503, "serviceNotAvailable")

	for _, f := range []sandbox.Faults{{GraphUnreachable: true}, {IdentityUnreachable: true}} {
		sb.SetFaults(f)
		u := graphBase + "/me"
		if f.IdentityUnreachable {
			u = tenant + "/v2.0/.well-known/openid-configuration"
		}
		_, err := c.Get(u)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%+v: GET %s: %v, want connection refused", f, u, err)
		}
	}

	sb.SetFaults(sandbox.Faults{LatencyMS: 300})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", graphBase+"/me", nil)
	if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a 300 ms answer awaited 50 ms: %v", err)
	}
}

func TestPresenceFollowsTheCalendarUntilSetByHand(t *testing.T) {
	t.Parallel()
	// On the half hour, so that the demo day's meetings fall at known times.
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	sb, c := newSandbox(t, func(o *sandbox.Options) { o.Now = func() time.Time { return start } })
	presence := func() string {
		t.Helper()
		p := get(t, c, graphBase+"/me/presence", "Authorization", bearer(t, sb, ada, "Presence.Read"))
		return fmt.Sprint(p.body["availability"], "/", p.body["activity"])
	}
	// The demo day has Ada in a meeting from 30 minutes before the
	// sandbox started to 30 minutes after, and in another from an hour in.
	if got := presence(); got != "Busy/InAMeeting" {
		t.Errorf("in a meeting: %s", got)
	}
	sb.Advance(45 * time.Minute)
	if got := presence(); got != "Available/Available" {
		t.Errorf("between meetings: %s", got)
	}
	if err := sb.SetPresence(ada, "Available", "Available"); err != nil {
		t.Fatal(err)
	}
	sb.Advance(20 * time.Minute)
	if got := presence(); got != "Available/Available" {
		t.Errorf("in a meeting, with a status set by hand: %s", got)
	}
	// Grace is in a call: a meeting does not change that.
	g := get(t, c, graphBase+"/me/presence", "Authorization", bearer(t, sb, grace, "Presence.Read"))
	if g.body["activity"] != "InACall" {
		t.Errorf("Grace: %s", g.raw)
	}
}

// TestOrderingByStartKeepsAllDayEventsAtTheMailboxsMidnightAtAnyTimeOfDay
// sorts a week of Grace's calendar by start, both ways, with the
// sandbox's clock at every half hour of a day: the demo calendar lays
// today's meetings around the clock, so some of them fall beside an
// all-day event that is shown at midnight UTC and kept at midnight in New
// York. The days are the one this failed on and those whose calendar is
// unlike others: New York's changes of clock, the ends of a month and of
// a year, a leap day, and holidays. (The conformance suite walks every
// day of two years at one time of day each.)
func TestOrderingByStartKeepsAllDayEventsAtTheMailboxsMidnightAtAnyTimeOfDay(t *testing.T) {
	t.Parallel()
	for _, day := range []time.Time{
		time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC),  // the day it failed at 19:30
		time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),  // New York back to standard time
		time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC),  // New York on to daylight time
		time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), // Thanksgiving
		time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), // a year's end
		time.Date(2027, 2, 28, 0, 0, 0, 0, time.UTC),  // a month's end, no leap day after it
		time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC),  // a leap day
	} {
		for at := day; at.Before(day.AddDate(0, 0, 1)); at = at.Add(30 * time.Minute) {
			sb, c := newSandbox(t, func(o *sandbox.Options) { o.Now = func() time.Time { return at } })
			auth := bearer(t, sb, grace, "Calendars.Read")
			for _, dir := range []string{"asc", "desc"} {
				q := url.Values{"startDateTime": {at.Add(-24 * time.Hour).Format(time.RFC3339)}, "endDateTime": {at.AddDate(0, 0, 7).Format(time.RFC3339)},
					"$orderby": {"start/dateTime " + dir}, "$top": {"200"}}
				t.Run(at.Format(time.DateTime)+" "+dir, func(t *testing.T) {
					checkKeptOrder(t, view(t, c, auth, q.Encode()).body["value"].([]any), dir)
				})
			}
		}
	}
}

// checkKeptOrder checks that Grace's events, in UTC, come in the order of
// their start as Exchange keeps them: an all-day event is written at
// midnight UTC but kept at midnight in her mailbox's zone (New York), as
// the conformance suite's checkEventOrder explains with its sources.
func checkKeptOrder(t *testing.T, values []any, dir string) {
	t.Helper()
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for i, v := range values {
		ev := v.(map[string]any)
		shown := ev["start"].(map[string]any)["dateTime"].(string)
		kept, err := time.Parse("2006-01-02T15:04:05.0000000", shown)
		if err != nil {
			t.Fatalf("event %d starts %q: %v", i, shown, err)
		}
		if ev["isAllDay"] == true {
			kept = time.Date(kept.Year(), kept.Month(), kept.Day(), 0, 0, 0, 0, newYork)
		}
		if i > 0 && (dir == "desc" && kept.After(last) || dir == "asc" && kept.Before(last)) {
			t.Fatalf("event %d (%s, kept at %s) comes after one kept at %s in %s order", i, shown, kept.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339), dir)
		}
		last = kept
	}
}

package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// The day the rendering tests show: Monday 23 November 2026, 10:40 UTC.
var (
	testNow = time.Date(2026, 11, 23, 10, 40, 0, 0, time.UTC)
	testDay = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
)

func at(hm string) time.Time {
	d, err := time.Parse("15:04", hm)
	if err != nil {
		panic(err)
	}
	return testDay.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute)
}

func event(id, subject, start, end string) wire.Event {
	return wire.Event{ID: id, Subject: subject, Start: at(start), End: at(end), Location: "Room " + id}
}

// dashboard is a signed-in state with a day of events.
func dashboard(sc wire.Screen, today ...wire.Event) wire.State {
	if sc.Name == "" {
		sc.Name = "Lobby TV"
	}
	if sc.TimeZone == "" {
		sc.TimeZone = "UTC"
	}
	return wire.State{Phase: wire.PhaseDashboard, Now: testNow, Screen: sc, Dashboard: &wire.Dashboard{
		User:     wire.User{Name: "Ada Lovelace", Initials: "AL"},
		Presence: &wire.Presence{Availability: "Busy", Activity: "InACall"},
		Fresh:    testNow.Add(-time.Minute),
		Agenda:   &wire.Agenda{Today: today},
	}}
}

// render is the screen's HTML for a state, at testNow, as the prerender
// writes it.
func render(st wire.State, edit ...func(*Screen)) string {
	s := &Screen{state: st, now: testNow, link: linkOpen}
	for _, f := range edit {
		f(s)
	}
	return app.HTMLString(s)
}

var tagRE = regexp.MustCompile(`<[^>]+>`)

// elements returns the opening tags of the elements with a data-testid.
func elements(html, testid string) []string {
	return regexp.MustCompile(`<[a-z0-9]+[^>]*data-testid="`+testid+`"[^>]*>`).FindAllString(html, -1)
}

// marked reports whether a tag carries name="true". go-app's HTML writes
// the value "true" as a bare attribute (the browser's DOM, built by the
// Wasm, has it in full).
func marked(tag, name string) bool {
	return regexp.MustCompile(` ` + name + `(="true")?[ >]`).MatchString(tag)
}

// textsOf returns the text of each element with a data-testid (its tags
// removed, spaces collapsed).
func textsOf(html, testid string) []string {
	var out []string
	open := regexp.MustCompile(`<([a-z0-9]+)[^>]*data-testid="` + testid + `"[^>]*>`)
	for _, loc := range open.FindAllStringSubmatchIndex(html, -1) {
		tag := html[loc[2]:loc[3]]
		rest := html[loc[1]:]
		// The element ends at its matching closing tag.
		nested := regexp.MustCompile(`<(/?)` + tag + `[ >]`)
		depth, end := 1, len(rest)
		for _, m := range nested.FindAllStringSubmatchIndex(rest, -1) {
			if m[3] > m[2] {
				depth--
			} else {
				depth++
			}
			if depth == 0 {
				end = m[0]
				break
			}
		}
		out = append(out, strings.Join(strings.Fields(tagRE.ReplaceAllString(rest[:end], " ")), " "))
	}
	return out
}

func TestAgendaMarksTheCurrentAndNextMeetingAndDropsWhatEnded(t *testing.T) {
	cancelled := event("c", "Lunch & learn", "12:30", "13:30")
	cancelled.Cancelled = true
	allDay := wire.Event{ID: "h", Subject: "Company holiday", AllDay: true, Start: testDay, End: testDay.Add(24 * time.Hour)}
	html := render(dashboard(wire.Screen{Clock24: true},
		allDay,
		event("a", "Standup", "09:00", "09:15"),
		event("b", "Design review", "10:30", "11:30"),
		cancelled,
		event("d", "Planning", "14:00", "15:00"),
	))

	items := elements(html, "agenda-item")
	if len(items) != 4 {
		t.Fatalf("%d agenda items, want 4 (the standup has ended):\n%s", len(items), strings.Join(items, "\n"))
	}
	want := []struct{ id, attr string }{{"h", ""}, {"b", "data-current"}, {"c", ""}, {"d", "data-next"}}
	for i, w := range want {
		if !strings.Contains(items[i], `data-event-id="`+w.id+`"`) {
			t.Errorf("item %d is %s, want event %s", i, items[i], w.id)
		}
		for _, mark := range []string{"data-current", "data-next"} {
			if has := marked(items[i], mark); has != (mark == w.attr) {
				t.Errorf("item %s: %s is %v", w.id, mark, has)
			}
		}
	}
	times := textsOf(html, "agenda-time")
	if strings.Join(times, "|") != "All day|10:30–11:30|12:30–13:30|14:00–15:00" {
		t.Errorf("agenda times %q", times)
	}
	if !strings.Contains(items[2], "cancelled") || !strings.Contains(html, ">Cancelled<") {
		t.Errorf("the cancelled event is not shown as such: %s", items[2])
	}
	if got := textsOf(html, "agenda-subject"); strings.Join(got, "|") != "Company holiday|Design review|Lunch &amp; learn|Planning" {
		t.Errorf("subjects %q", got)
	}
	if state := textsOf(html, "room-state"); len(state) != 1 || !strings.Contains(state[0], "Design review") {
		t.Errorf("room state %q, want the meeting in progress", state)
	}
	if got := textsOf(html, "free-at"); len(got) != 1 || got[0] != "Free at 11:30" {
		t.Errorf("free-at %q, want Free at 11:30", got)
	}
}

func TestTimesFollowTheScreensZoneAndClock(t *testing.T) {
	cases := []struct {
		name   string
		screen wire.Screen
		clock  string
		when   string
		state  string
	}{
		{"24-hour UTC", wire.Screen{TimeZone: "UTC", Clock24: true}, "10:40", "11:00–12:00", "Free until 11:00"},
		{"12-hour New York", wire.Screen{TimeZone: "America/New_York"}, "5:40 AM", "6:00–7:00 AM", "Free until 6:00 AM"},
		{"French in Paris", wire.Screen{TimeZone: "Europe/Paris", Lang: "fr"}, "11:40", "12:00–13:00", "Libre jusqu’à 12:00"},
		{"French in Montreal", wire.Screen{TimeZone: "America/Toronto", Lang: "fr-CA"}, "05:40", "06:00–07:00", "Libre jusqu’à 06:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			html := render(dashboard(c.screen, event("a", "Review", "11:00", "12:00")))
			if got := textsOf(html, "clock"); len(got) != 1 || got[0] != c.clock {
				t.Errorf("clock %q, want %s", got, c.clock)
			}
			if got := textsOf(html, "agenda-time"); len(got) != 1 || got[0] != c.when {
				t.Errorf("agenda time %q, want %s", got, c.when)
			}
			if got := textsOf(html, "free-at"); len(got) != 1 || got[0] != c.state {
				t.Errorf("free-at %q, want %s", got, c.state)
			}
		})
	}
}

func TestWhenTheDayIsDoneTomorrowFollows(t *testing.T) {
	st := dashboard(wire.Screen{Clock24: true}, event("a", "Standup", "09:00", "09:15"))
	st.Dashboard.Agenda.Tomorrow = []wire.Event{
		{ID: "t1", Subject: "Board meeting", Start: at("09:00").Add(24 * time.Hour), End: at("10:00").Add(24 * time.Hour)},
	}
	html := render(st)
	if got := textsOf(html, "agenda-empty"); len(got) != 1 || got[0] != "Nothing else today" {
		t.Errorf("agenda-empty %q, want Nothing else today", got)
	}
	if !strings.Contains(html, ">Tomorrow<") || len(elements(html, "agenda-item")) != 1 || !strings.Contains(html, `data-event-id="t1"`) {
		t.Errorf("tomorrow's first event is not shown:\n%s", html)
	}
	if got := textsOf(html, "free-at"); len(got) != 1 || got[0] != "Tomorrow 09:00 · Board meeting" {
		t.Errorf("free-at %q, want tomorrow's first meeting", got)
	}
	st.Dashboard.Agenda.Tomorrow = nil
	if got := textsOf(render(st), "free-at"); len(got) != 1 || got[0] != "Free for the rest of the day" {
		t.Errorf("free-at %q with nothing tomorrow", got)
	}

	empty := render(dashboard(wire.Screen{}))
	if got := textsOf(empty, "agenda-empty"); len(got) != 1 || got[0] != "Nothing on the calendar today" {
		t.Errorf("an empty day says %q", got)
	}
}

func TestPresenceIsShownOnceOnTheStatusCard(t *testing.T) {
	st := dashboard(wire.Screen{Clock24: true}, event("b", "Design review", "10:30", "11:30"))
	html := render(st)
	presences := elements(html, "presence")
	if len(presences) != 1 {
		t.Fatalf("%d presence hooks, want one:\n%s", len(presences), html)
	}
	card := html[strings.Index(html, `data-testid="room-state"`):]
	if !strings.Contains(card[:strings.Index(card, "</section>")], `data-testid="presence"`) {
		t.Errorf("the presence is not on the status card:\n%s", html)
	}
	if got := textsOf(html, "room-state"); len(got) != 1 || got[0] != "Busy · In a call Design review" {
		t.Errorf("status card %q", got)
	}

	// An account without Teams: the card says what its calendar says.
	st.Dashboard.Presence = nil
	html = render(st)
	if n := len(elements(html, "presence")); n != 0 {
		t.Errorf("%d presence hooks for an account without presence", n)
	}
	if got := textsOf(html, "room-state"); len(got) != 1 || got[0] != "Busy Design review" {
		t.Errorf("status card %q, want the calendar's Busy and the meeting", got)
	}
	st.Dashboard.Agenda.Today = []wire.Event{event("d", "Planning", "14:00", "15:00")}
	if got := textsOf(render(st), "room-state"); len(got) != 1 || got[0] != "Free" {
		t.Errorf("status card %q, want Free", got)
	}
}

func TestPrivacyModeShowsBusyWithTheTimesOnly(t *testing.T) {
	// The edge server drops subjects before sending; the screen never
	// shows one it would still receive.
	html := render(dashboard(wire.Screen{Privacy: true, Clock24: true}, event("a", "Secret merger talks", "10:30", "11:30")))
	if strings.Contains(html, "Secret merger") || strings.Contains(html, "Room a") {
		t.Errorf("a private screen shows a subject or location:\n%s", html)
	}
	if got := textsOf(html, "agenda-subject"); len(got) != 1 || got[0] != "Busy" {
		t.Errorf("subject %q, want Busy", got)
	}
	if got := textsOf(html, "agenda-time"); len(got) != 1 || got[0] != "10:30–11:30" {
		t.Errorf("time %q", got)
	}
}

func TestAPrivateEventIsCalledPrivate(t *testing.T) {
	ev := event("a", "", "10:30", "11:30")
	ev.Private = true
	html := render(dashboard(wire.Screen{Clock24: true}, ev))
	if got := textsOf(html, "agenda-subject"); len(got) != 1 || got[0] != "Private" {
		t.Errorf("subject %q, want Private", got)
	}
	if strings.Contains(html, "Room a") {
		t.Errorf("a private event shows a location:\n%s", html)
	}
	if got := textsOf(html, "agenda-time"); len(got) != 1 || got[0] != "10:30–11:30" {
		t.Errorf("time %q", got)
	}
}

// Buttons show on a touch screen that an administrator lets act, and
// nowhere else.
func TestButtonsOnlyOnTouchScreensThatMayAct(t *testing.T) {
	cases := []struct {
		name              string
		touch, acts, book bool
		signOut, qbok     int
	}{
		{"TV", false, true, true, 0, 0},
		{"tablet", true, true, false, 1, 0},
		{"tablet that may book", true, true, true, 1, 2},
		{"tablet nobody lets act", true, false, false, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := dashboard(wire.Screen{Touch: c.touch, Acts: c.acts})
			st.Dashboard.CanBook = c.book
			html := render(st)
			if n := len(elements(html, "sign-out")); n != c.signOut {
				t.Errorf("%d sign-out buttons, want %d", n, c.signOut)
			}
			if n := len(elements(html, "quick-book")); n != c.qbok {
				t.Errorf("%d quick-book buttons, want %d", n, c.qbok)
			}
			if strings.Contains(html, "disabled") {
				t.Errorf("a button is disabled before anything was asked")
			}
		})
	}
}

func TestQuickBookAsksForTheSlotThenShowsTheResult(t *testing.T) {
	st := dashboard(wire.Screen{Touch: true, Acts: true, Clock24: true}, event("a", "Review", "10:30", "11:30"))
	st.Dashboard.CanBook = true
	asking := render(st, func(s *Screen) { s.acts.asking = 15 })
	if got := textsOf(asking, "quick-book-confirm"); len(got) != 1 {
		t.Fatalf("no confirmation asked: %s", asking)
	}
	if !strings.Contains(asking, "Book 11:30–11:45?") {
		t.Errorf("the confirmation does not name the next free slot after the meeting:\n%s", asking)
	}

	st.Dashboard.Booking = &wire.Booking{OK: true, Start: time.Date(2026, 11, 23, 11, 30, 0, 0, time.UTC), End: time.Date(2026, 11, 23, 11, 45, 0, 0, time.UTC)}
	done := render(st)
	if got := textsOf(done, "quick-book-result"); len(got) != 1 || got[0] != "Booked 11:30–11:45" {
		t.Errorf("result %q", got)
	}
	st.Dashboard.Booking = &wire.Booking{Problem: "the calendar is full"}
	failed := render(st)
	if got := elements(failed, "quick-book-result"); len(got) != 1 || !strings.Contains(got[0], `data-ok="false"`) {
		t.Errorf("a failed booking is not marked: %q", got)
	}
}

func TestAsleepScreenShowsOnlyAClock(t *testing.T) {
	html := render(dashboard(wire.Screen{Asleep: true, Clock24: true}, event("a", "Review", "10:30", "11:30")))
	if len(elements(html, "agenda-item")) != 0 || len(elements(html, "user-name")) != 0 {
		t.Errorf("an asleep screen shows the dashboard:\n%s", html)
	}
	if got := textsOf(html, "clock"); len(got) != 1 || got[0] != "10:40" {
		t.Errorf("clock %q", got)
	}
	if !strings.Contains(elements(html, "screen")[0], "asleep") {
		t.Errorf("the screen is not marked asleep: %s", elements(html, "screen")[0])
	}
}

func TestContentMovesNowAndThenAgainstBurnIn(t *testing.T) {
	seen := map[string]bool{}
	for i := range shifts {
		seen[shift(testNow.Add(time.Duration(i)*shiftEvery))] = true
	}
	if len(seen) != shifts {
		t.Errorf("%d positions over %d periods, want %d", len(seen), shifts, shifts)
	}
	if shift(testNow) != shift(testNow.Add(time.Second)) {
		t.Errorf("the position changes within a period")
	}
}

func TestUserCodeElementHoldsExactlyTheCode(t *testing.T) {
	html := render(wire.State{Phase: wire.PhaseCode, Screen: wire.Screen{Name: "Hall", TimeZone: "UTC"}, Code: &wire.Code{
		UserCode: "ABCD1234", VerificationURI: "https://microsoft.com/devicelogin", ExpiresAt: testNow.Add(15 * time.Minute),
		QR: wire.QR{Size: 29, Path: "M4 4h1v1h-1z"},
	}})
	m := regexp.MustCompile(`<div class="user-code" data-testid="user-code"[^>]*>(.*?)</div>`).FindStringSubmatch(html)
	if m == nil || tagRE.ReplaceAllString(m[1], "") != "ABCD1234" {
		t.Fatalf("user-code element %q", m)
	}
	if got := textsOf(html, "countdown"); len(got) != 1 || got[0] != "15:00" {
		t.Errorf("countdown %q", got)
	}
}

func TestEventIdsCannotBreakOutOfTheirAttribute(t *testing.T) {
	html := render(dashboard(wire.Screen{}, wire.Event{ID: `AAMk+/=_-"><script>`, Subject: "<b>x</b>", Start: at("11:00"), End: at("12:00")}))
	if strings.Contains(html, "<script>") || strings.Contains(html, "<b>") {
		t.Errorf("outside content became HTML:\n%s", html)
	}
	if !strings.Contains(html, `data-event-id="AAMk+/=_-script"`) {
		t.Errorf("the id lost more than quotes and brackets: %s", elements(html, "agenda-item"))
	}
}

func TestLangIsALanguageTheScreenSpeaks(t *testing.T) {
	for tag, want := range map[string]string{"": "en", "en": "en", "fr": "fr", "fr-CA": "fr", "FR": "fr", "de": "en", "pt-BR": "en"} {
		if got := Lang(tag); got != want {
			t.Errorf("Lang(%q) = %q, want %q", tag, got, want)
		}
	}
}

// A screen's words say which way to sign in: the code and its address
// with a QR code of that address; the QR code on the authorization-code
// path and the code as the other way; or the QR code alone, saying why
// when the organisation blocks codes. Once a phone opened the QR code's
// link, the number to pick on it takes the QR code's place.
func TestTheCodeViewSaysWhichWayToSignIn(t *testing.T) {
	qr := func(to string) wire.QR { return wire.QR{Size: 29, Path: "M4 4h1v1h-1z", To: to} }
	code := func(c wire.Code) string {
		c.ExpiresAt = testNow.Add(15 * time.Minute)
		return render(wire.State{Phase: wire.PhaseCode, Screen: wire.Screen{Name: "Lobby TV", TimeZone: "UTC"}, Code: &c})
	}
	for _, tc := range []struct {
		name      string
		html      string
		path      string // "" for no QR shown
		userCode  bool
		words     []string
		match     string
		notBlocks bool
	}{
		{"device code", code(wire.Code{UserCode: "ABCD1234", VerificationURI: "https://microsoft.com/devicelogin", QR: qr(wire.QRDeviceCode)}),
			"device-code", true, []string{"On your phone, open", "and enter the code", "or scan", "Code expires in"}, "", true},
		{"both", code(wire.Code{UserCode: "ABCD1234", VerificationURI: "https://microsoft.com/devicelogin", QR: qr(wire.QRAuthCode)}),
			"auth-code", true, []string{"Scan to sign in", "Or, on your phone, open", "and enter the code", "Code expires in"}, "", true},
		{"qr", code(wire.Code{QR: qr(wire.QRAuthCode)}),
			"auth-code", false, []string{"Scan to sign in", "Link expires in"}, "", true},
		{"qr, codes blocked", code(wire.Code{QR: qr(wire.QRAuthCode), CodeBlocked: true}),
			"auth-code", false, []string{"Scan to sign in", "blocks sign-in with a code"}, "", false},
		{"a phone opened the link", code(wire.Code{QR: qr(wire.QRAuthCode), Match: "47"}),
			"", false, []string{"On your phone, type", "Link expires in"}, "47", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tagRE.ReplaceAllString(tc.html, " ")
			for _, w := range tc.words {
				if !strings.Contains(text, w) {
					t.Errorf("the screen does not say %q: %s", w, strings.Join(strings.Fields(text), " "))
				}
			}
			qrs := elements(tc.html, "qr")
			switch {
			case tc.path == "" && len(qrs) != 0:
				t.Errorf("a QR code is shown: %q", qrs)
			case tc.path != "" && (len(qrs) != 1 || !strings.Contains(qrs[0], `data-path="`+tc.path+`"`)):
				t.Errorf("qr elements %q, want one with data-path=%q", qrs, tc.path)
			}
			if got := len(elements(tc.html, "user-code")) == 1; got != tc.userCode {
				t.Errorf("a user code shown: %v, want %v", got, tc.userCode)
			}
			if got := textsOf(tc.html, "match-number"); (tc.match == "" && len(got) != 0) || (tc.match != "" && (len(got) != 1 || got[0] != tc.match)) {
				t.Errorf("match-number %q, want %q", got, tc.match)
			}
			if got := len(elements(tc.html, "code-blocked")) == 0; got != tc.notBlocks {
				t.Errorf("no word on blocked codes: %v, want %v", got, tc.notBlocks)
			}
		})
	}
}

// TestThePageCarriesTheQRCodeOnce: the prerendered page draws the QR code,
// and its snapshot for the Wasm leaves the path out (the Wasm reads it
// from the drawing), so the page's largest part is not sent twice.
func TestThePageCarriesTheQRCodeOnce(t *testing.T) {
	const path = "M4 4h7v1h-7zM13 4h3v1h-3zM17 4h2v1h-2z"
	html := render(wire.State{Phase: wire.PhaseCode, Screen: wire.Screen{Name: "Hall", TimeZone: "UTC"}, Code: &wire.Code{
		UserCode: "ABCD1234", VerificationURI: "https://microsoft.com/devicelogin", ExpiresAt: testNow.Add(15 * time.Minute),
		QR: wire.QR{Size: 29, Path: path},
	}})
	if !strings.Contains(html, `data-snapshot=`) {
		t.Fatal("the page has no snapshot")
	}
	if n := strings.Count(html, "M4"); n != 1 {
		t.Errorf("the QR code's path is in the page %d times, want once", n)
	}
	if !strings.Contains(html, `d="`+path+`"`) {
		t.Error("the page does not draw the QR code")
	}
}

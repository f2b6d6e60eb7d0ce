package screens_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/sqlite"
)

// testClock is the manager's clock: the real one until a test sets it.
type testClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now()
	}
	return c.at
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t
}

// roomHarness is a harness whose server may write to calendars, on the
// clock given.
func roomHarness(t *testing.T, clock *testClock) *harness {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{VerificationURL: "https://placard.test/sandbox/devicelogin"})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "placard.db")
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	scopes := append(slices.Clone(identity.DefaultScopes), screens.ScopeBook)
	return newReplicaAsking(t, sb, store, db, newBox(t), scopes, func(c *screens.Config) {
		c.Now = clock.Now
		c.PollEvery, c.CalendarEvery = time.Hour, time.Hour
	})
}

// A room's panel with auto-release on: a meeting nobody checked in to is
// declined by the room once, at its release time (the organiser's copy
// shows it); a meeting checked in, one of 8 hours and an all-day one are
// kept. The manager's clock is moved; nothing waits for it.
func TestARoomReleasesAMeetingNobodyCheckedInToOnceAtItsReleaseTime(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	h := roomHarness(t, clock)
	id := h.screen("Lobby panel")
	if _, err := h.store.UpdateScreen(t.Context(), id, func(sc *server.Screen) error {
		sc.Settings = server.ScreenSettings{Layout: server.LayoutRoom, Actions: true, AutoRelease: true, ReleaseAfterMinutes: 10, TimeZone: "Europe/Paris"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	h.signIn(id, "lobby@placard.example")
	acct := accountOf(t, h, id)

	// A Saturday at least two days on, when the lobby has no meeting of
	// the demo's: Ada books it from Outlook.
	paris := wire.Zone("Europe/Paris")
	day := time.Now().In(paris).AddDate(0, 0, 2)
	for day.Weekday() != time.Saturday {
		day = day.AddDate(0, 0, 1)
	}
	at := func(hm string) time.Time {
		d, _ := time.Parse("15:04", hm)
		return time.Date(day.Year(), day.Month(), day.Day(), d.Hour(), d.Minute(), 0, 0, paris)
	}
	book := func(subject string, start, end time.Time) string {
		ev, err := h.sb.BookRoom("lobby@placard.example", sandbox.Booking{Organizer: "ada@placard.example", Subject: subject, Start: start, End: end})
		if err != nil {
			t.Fatalf("booking %s: %v", subject, err)
		}
		return ev.ID
	}
	noShow := book("No-show", at("09:00"), at("09:30"))
	came := book("Came", at("09:30"), at("10:00"))
	long := book("Training", at("10:00"), at("18:00"))
	holidayStart := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, time.UTC)
	allDay := bookAllDay(t, h, holidayStart)

	// The panel shows the day as of 08:55 that Saturday.
	showsAt := func(now time.Time, ids ...string) {
		t.Helper()
		clock.set(now)
		screens.Poke(h.m, acct)
		h.wait(id, 10*time.Second, "the room's day at "+now.Format("Mon 15:04"), func(st wire.State) bool {
			if st.Dashboard == nil || st.Dashboard.Agenda == nil {
				return false
			}
			var shown []string
			for _, e := range st.Dashboard.Agenda.Today {
				shown = append(shown, e.ID)
			}
			for _, id := range ids {
				if !slices.Contains(shown, id) {
					return false
				}
			}
			return true
		})
	}
	showsAt(at("08:55"), noShow, came, long)
	inRoom := func(id string) bool {
		t.Helper()
		evs, err := h.sb.DayEvents("lobby@placard.example", day.Format("2006-01-02"))
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(evs, func(e sandbox.Event) bool { return e.ID == id })
	}
	declines := func() int {
		n := 0
		for _, p := range []string{noShow, came, long, allDay} {
			n += len(h.sent.of("/v1.0/me/events/" + p + "/decline"))
		}
		return n
	}

	// A second before the release time: nothing.
	clock.set(at("09:09").Add(59 * time.Second))
	screens.ReleaseDue(h.m, t.Context())
	if !inRoom(noShow) || declines() != 0 {
		t.Fatalf("released before its time (declines %d)", declines())
	}
	// At the release time: declined, once, whoever looks again.
	for _, now := range []time.Time{at("09:10"), at("09:11"), at("09:15")} {
		clock.set(now)
		screens.ReleaseDue(h.m, t.Context())
	}
	if inRoom(noShow) {
		t.Error("the meeting nobody checked in to is still in the room's calendar")
	}
	if n := declines(); n != 1 {
		t.Errorf("%d declines, want 1", n)
	}
	adas, err := h.sb.DayEvents("ada@placard.example", day.Format("2006-01-02"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range adas {
		if e.Subject == "No-show" && e.AttendeeResponse("lobby@placard.example") != "declined" {
			t.Errorf("the organiser's copy says the room's response is %q, want declined", e.AttendeeResponse("lobby@placard.example"))
		}
	}
	h.wait(id, 5*time.Second, "the panel without the meeting released", func(st wire.State) bool {
		return st.Dashboard != nil && !slices.ContainsFunc(st.Dashboard.Agenda.Today, func(e wire.Event) bool { return e.ID == noShow })
	})

	// Checked in two minutes before its start: kept.
	clock.set(at("09:28"))
	if err := h.m.RoomAction(t.Context(), id, wire.RoomAction{Action: wire.ActCheckIn, Event: came}); err != nil {
		t.Fatalf("checking in: %v", err)
	}
	h.wait(id, 5*time.Second, "the check-in shown", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Room.CheckedInTo(came)
	})
	// 8 hours: kept.
	for _, now := range []time.Time{at("09:40"), at("10:10"), at("10:15")} {
		clock.set(now)
		screens.ReleaseDue(h.m, t.Context())
	}
	if !inRoom(came) || !inRoom(long) {
		t.Errorf("released: the meeting checked in %v, the 8-hour one %v", !inRoom(came), !inRoom(long))
	}
	// All day, the next day: kept.
	showsAt(holidayStart.In(paris).Add(10*time.Minute), allDay)
	for _, now := range []time.Time{holidayStart.Add(10 * time.Minute), holidayStart.Add(9*time.Hour + 10*time.Minute)} {
		clock.set(now)
		screens.ReleaseDue(h.m, t.Context())
	}
	if n := declines(); n != 1 {
		t.Errorf("%d declines after the meetings to keep, want 1", n)
	}
	// The audit trail says what the room released.
	events, err := h.store.Audit(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	released := 0
	for _, e := range events {
		if e.Kind == server.AuditRoomAction && strings.HasPrefix(e.Outcome, "release") {
			released++
		}
	}
	if released != 1 {
		t.Errorf("%d releases audited, want 1", released)
	}
}

// bookAllDay books an all-day meeting of Ada's in the lobby on the UTC date
// of start, through the sandbox's control API, and returns the room's id
// of it.
func bookAllDay(t *testing.T, h *harness, start time.Time) string {
	t.Helper()
	body := `{"organizer":"ada@placard.example","subject":"Offsite","isAllDay":true,` +
		`"start":{"dateTime":"` + start.Format("2006-01-02") + `T00:00:00","timeZone":"UTC"},` +
		`"end":{"dateTime":"` + start.AddDate(0, 0, 1).Format("2006-01-02") + `T00:00:00","timeZone":"UTC"}}`
	rec := httptest.NewRecorder()
	h.sb.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/sandbox/api/users/lobby@placard.example/events", strings.NewReader(body)))
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ev); err != nil || rec.Code != http.StatusCreated || ev.ID == "" {
		t.Fatalf("booking an all-day meeting: %d %s", rec.Code, rec.Body)
	}
	return ev.ID
}

// A room's panel acts within Graph's rule that only an organiser changes
// a meeting's times: Extend of Ada's meeting books the next 15 minutes as
// the room, leaving hers as it is; a screen not let act is refused with
// nothing asked of Graph; Extend into the next meeting is refused. Two
// replicas on one store release a meeting once.
func TestARoomsPanelExtendsAnothersMeetingByBookingAfterItAndReleasesOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	h := roomHarness(t, clock)
	id := h.screen("Lobby panel")
	room := server.ScreenSettings{Layout: server.LayoutRoom, Actions: true, AutoRelease: true, TimeZone: "Europe/Paris"}
	if _, err := h.store.UpdateScreen(t.Context(), id, func(sc *server.Screen) error {
		sc.Settings = room
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	h.signIn(id, "lobby@placard.example")
	acct := accountOf(t, h, id)

	paris := wire.Zone("Europe/Paris")
	day := time.Now().In(paris).AddDate(0, 0, 2)
	for day.Weekday() != time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	at := func(hm string) time.Time {
		d, _ := time.Parse("15:04", hm)
		return time.Date(day.Year(), day.Month(), day.Day(), d.Hour(), d.Minute(), 0, 0, paris)
	}
	book := func(subject string, start, end time.Time) string {
		ev, err := h.sb.BookRoom("lobby@placard.example", sandbox.Booking{Organizer: "ada@placard.example", Subject: subject, Start: start, End: end})
		if err != nil {
			t.Fatalf("booking %s: %v", subject, err)
		}
		return ev.ID
	}
	review := book("Review", at("14:00"), at("14:30"))
	next := book("Next", at("15:00"), at("15:30"))
	book("Right after", at("15:30"), at("15:40"))
	noShow := book("No-show", at("16:00"), at("16:30"))
	clock.set(at("14:20"))
	screens.Poke(h.m, acct)
	h.wait(id, 10*time.Second, "the room's day", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Agenda != nil && slices.ContainsFunc(st.Dashboard.Agenda.Today, func(e wire.Event) bool { return e.ID == noShow })
	})
	// outcome is the next outcome of an action shown, ok or not.
	outcome := func(what, action string, ok bool) wire.Booking {
		t.Helper()
		st := h.wait(id, 5*time.Second, what, func(st wire.State) bool {
			b := st.Dashboard
			return b != nil && b.Booking != nil && b.Booking.Action == action && b.Booking.OK == ok
		})
		return *st.Dashboard.Booking
	}

	if err := h.m.RoomAction(t.Context(), id, wire.RoomAction{Action: wire.ActExtend, Event: review}); err != nil {
		t.Fatalf("extending Ada's meeting: %v", err)
	}
	if b := outcome("the extension", wire.ActExtend, true); !b.End.Equal(at("14:45")) {
		t.Errorf("the extension: %+v, want ok until 14:45", b)
	}
	evs, err := h.sb.DayEvents("lobby@placard.example", day.Format("2006-01-02"))
	if err != nil {
		t.Fatal(err)
	}
	var extension, hers *sandbox.Event
	for i, e := range evs {
		switch {
		case e.ID == review:
			hers = &evs[i]
		case strings.HasPrefix(e.Subject, "Extended"):
			extension = &evs[i]
		}
	}
	if hers == nil || !hers.End.Equal(at("14:30")) {
		t.Errorf("Ada's meeting changed: %+v", hers)
	}
	if extension == nil || !extension.Start.Equal(at("14:30")) || !extension.End.Equal(at("14:45")) || !strings.EqualFold(extension.Organizer, "lobby@placard.example") {
		t.Errorf("the room's extension: %+v, want 14:30–14:45 organised by the room", extension)
	}

	// Extend into the next meeting: refused, the calendar as it was.
	clock.set(at("15:20"))
	if err := h.m.RoomAction(t.Context(), id, wire.RoomAction{Action: wire.ActExtend, Event: next}); err == nil {
		t.Error("extending into the next meeting succeeded")
	} else {
		t.Logf("extending into the next meeting: %v", err)
	}
	if b := outcome("the refusal", wire.ActExtend, false); b.Problem != wire.BookRefused {
		t.Errorf("extending into the next meeting: %+v, want refused", b)
	}

	// Another replica on the same store shows the room too: at the
	// release time both look, and the meeting is declined once.
	scopes := append(slices.Clone(identity.DefaultScopes), screens.ScopeBook)
	h2 := newReplicaAsking(t, h.sb, h.store, h.db, h.box, scopes, func(c *screens.Config) {
		c.Now = clock.Now
		c.PollEvery, c.CalendarEvery = time.Hour, time.Hour
	})
	if err := h2.m.Attach(t.Context(), id, screens.Hello{}); err != nil {
		t.Fatal(err)
	}
	h2.wait(id, 10*time.Second, "the room on the second replica", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Agenda != nil && slices.ContainsFunc(st.Dashboard.Agenda.Today, func(e wire.Event) bool { return e.ID == noShow })
	})
	clock.set(at("16:10"))
	var wg sync.WaitGroup
	for _, r := range []*harness{h, h2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			screens.ReleaseDue(r.m, t.Context())
		}()
	}
	wg.Wait()
	path := "/v1.0/me/events/" + noShow + "/decline"
	if n := len(h.sent.of(path)) + len(h2.sent.of(path)); n != 1 {
		t.Errorf("two replicas declined the meeting %d times, want once", n)
	}

	// A screen not let act: refused, and Graph is asked nothing.
	if _, err := h.store.UpdateScreen(t.Context(), id, func(sc *server.Screen) error {
		sc.Settings.Actions = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	before := h.sent.count()
	if err := h.m.RoomAction(t.Context(), id, wire.RoomAction{Action: wire.ActBook, Minutes: 15}); server.ErrorCode(err) != server.EFORBIDDEN {
		t.Errorf("a screen not let act booked: %v", err)
	}
	if b := outcome("the refusal", wire.ActBook, false); b.Problem != wire.BookScreenRefused {
		t.Errorf("a screen not let act is shown %+v", b)
	}
	if h.sent.count() != before {
		t.Error("Graph was asked for a screen not let act")
	}
}

// count is how many requests were logged.
func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.log)
}

// A room whose panel is gone from this replica (on another, or
// reconnecting) while a light of the room keeps its source here is
// released all the same, after the panel's settings in the store.
func TestARoomOnlyALightFollowsHereIsReleasedAfterItsPanelsSettings(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	h := roomHarness(t, clock)
	id := h.screen("Lobby panel")
	if _, err := h.store.UpdateScreen(t.Context(), id, func(sc *server.Screen) error {
		sc.Settings = server.ScreenSettings{Layout: server.LayoutRoom, Actions: true, AutoRelease: true, ReleaseAfterMinutes: 5, TimeZone: "Europe/Paris"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	h.signIn(id, "lobby@placard.example")
	f, _ := follow(t, h, "lobby@placard.example")

	paris := wire.Zone("Europe/Paris")
	day := time.Now().In(paris).AddDate(0, 0, 2)
	for day.Weekday() != time.Saturday {
		day = day.AddDate(0, 0, 1)
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 11, 0, 0, 0, paris)
	ev, err := h.sb.BookRoom("lobby@placard.example", sandbox.Booking{Organizer: "ada@placard.example", Subject: "Nobody", Start: start, End: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	h.m.Detach(id)
	awaitNoSession(t, h)
	clock.set(start.Add(-time.Minute))
	screens.Poke(h.m, sandbox.AccountID("lobby@placard.example"))
	f.await(t, 5*time.Second, "soon", func(p server.Presence) bool { return p.Availability == "soon" })

	path := "/v1.0/me/events/" + ev.ID + "/decline"
	clock.set(start.Add(4 * time.Minute))
	screens.ReleaseDue(h.m, t.Context())
	if n := len(h.sent.of(path)); n != 0 {
		t.Fatalf("released before the panel's 5 minutes")
	}
	clock.set(start.Add(5 * time.Minute))
	screens.ReleaseDue(h.m, t.Context())
	if n := len(h.sent.of(path)); n != 1 {
		t.Errorf("%d declines at the release time, want 1", n)
	}
}

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
		c.PollEvery, c.CalendarEvery = time.Hour, time.Millisecond
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

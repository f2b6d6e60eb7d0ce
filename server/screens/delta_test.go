package screens_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// An account's calendar is read by rounds of calendarView delta: a first
// round of the window, then only what changed.

const lobby = "lobby@placard.example"

// fastClock runs factor times faster than time from start: the manager's
// clock and timers and the sandbox's clock, so that a test of the default
// periods (seconds, minutes) takes a fraction of them.
type fastClock struct {
	start, began time.Time
	factor       time.Duration
}

func newFastClock(start time.Time, factor int) *fastClock {
	return &fastClock{start: start, began: time.Now(), factor: time.Duration(factor)}
}

func (c *fastClock) now() time.Time { return c.start.Add(time.Since(c.began) * c.factor) }

func (c *fastClock) after(d time.Duration) <-chan time.Time { return time.After(d / c.factor) }

func (c *fastClock) tune(cfg *screens.Config) { cfg.Now, cfg.After = c.now, c.after }

// zoneAt returns a zone (Etc/GMT-k, UTC+k) where it is now the hour
// given. The sandbox's clock stays close to time (tokens it issues must
// be valid by the identity's clock), so a test that needs a time of day
// takes the zone where it is that time.
func zoneAt(hour int) string {
	k := (hour - time.Now().UTC().Hour() + 48) % 24
	if k > 14 {
		k -= 24
	}
	switch {
	case k > 0:
		return fmt.Sprintf("Etc/GMT-%d", k)
	case k < 0:
		return fmt.Sprintf("Etc/GMT+%d", -k)
	}
	return "Etc/GMT"
}

// deltaRounds are the harness's requests of calendarView delta, in the
// order they were answered; first says whether each began a round of a
// window (else it continued one from its link).
func deltaRounds(h *harness) []logged {
	return h.sent.of("/v1.0/me/calendarView/delta")
}

func isFirst(l logged) bool {
	return strings.Contains(l.query, "startDateTime=") && !strings.Contains(l.query, "deltatoken")
}

// shows reports whether a dashboard lists the event (cancelled or not).
func shows(st wire.State, id string) (shown, cancelled bool) {
	if st.Dashboard == nil || st.Dashboard.Agenda == nil {
		return false, false
	}
	for _, e := range append(slices.Clone(st.Dashboard.Agenda.Today), st.Dashboard.Agenda.Tomorrow...) {
		if e.ID == id {
			return true, e.Cancelled
		}
	}
	return false, false
}

func showing(id string) func(wire.State) bool {
	return func(st wire.State) bool { ok, c := shows(st, id); return ok && !c }
}

// book books the lobby as Ada, from Outlook, minutes from the sandbox's
// now for a quarter of an hour.
func book(t *testing.T, sb *sandbox.Sandbox, subject string, minutes int) sandbox.Event {
	t.Helper()
	start := sb.Now().Add(time.Duration(minutes) * time.Minute).Truncate(time.Minute)
	ev, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: "ada@placard.example", Subject: subject, Start: start, End: start.Add(15 * time.Minute)})
	if err != nil {
		t.Fatalf("booking the lobby: %v", err)
	}
	return ev
}

func TestAfterItsFirstRoundTheCalendarIsReadByDelta(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby door")
	h.signIn(id, lobby)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.sb.AwaitRequests(ctx, "graph /me/calendarView/delta", 5); err != nil {
		t.Fatal(err)
	}
	rounds := deltaRounds(h)
	if len(rounds) < 4 || !isFirst(rounds[0]) {
		t.Fatalf("the first request of the calendar: %+v", rounds)
	}
	for _, r := range rounds[1:] {
		if isFirst(r) || !strings.Contains(r.query, "deltatoken=") {
			t.Errorf("a request after the first round reads the window again: %s", r.query)
		}
	}
	if n := h.sb.Requests("graph /me/calendarView"); n != 0 {
		t.Errorf("%d full calendarView reads", n)
	}
	// The sandbox's log of the room's requests says the same.
	log, err := h.sb.UserRequests(lobby)
	if err != nil {
		t.Fatal(err)
	}
	deltas := 0
	for _, r := range log {
		switch r.Endpoint {
		case "graph /me/calendarView":
			t.Errorf("the sandbox logged a full read: %+v", r)
		case "graph /me/calendarView/delta":
			deltas++
			if r.Mailbox != lobby {
				t.Errorf("a round counted against %q", r.Mailbox)
			}
		}
	}
	if deltas < 4 {
		t.Errorf("%d rounds of delta in the room's log: %+v", deltas, log)
	}
	// A change made in Outlook comes by the next round.
	booked := book(t, h.sb, "Walk-through", 5)
	h.wait(id, 5*time.Second, "the booking", showing(booked.ID))
	if n := h.sb.Requests("graph /me/calendarView"); n != 0 {
		t.Errorf("%d full calendarView reads", n)
	}
}

func TestAnExpiredDeltaTokenBringsAFullRoundAndLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby door")
	h.signIn(id, lobby)
	first := book(t, h.sb, "Walk-through", 5)
	h.wait(id, 5*time.Second, "the booking", showing(first.ID))
	sent := len(deltaRounds(h))

	// Every token issued until now expires; a meeting booked meanwhile
	// comes with the new round, and the one before never leaves.
	h.sb.SetFaults(sandbox.Faults{ExpireDeltaTokens: true})
	second := book(t, h.sb, "Review", 25)
	h.wait(id, 5*time.Second, "the meeting booked while the token expired", func(st wire.State) bool {
		if ok, _ := shows(st, first.ID); !ok && st.Dashboard != nil {
			t.Fatalf("the screen lost a meeting during the new round: %+v", st.Dashboard.Agenda)
		}
		return showing(second.ID)(st)
	})
	rounds := deltaRounds(h)[sent:]
	gone := slices.IndexFunc(rounds, func(l logged) bool { return l.status == http.StatusGone })
	if gone < 0 || gone+1 >= len(rounds) || !isFirst(rounds[gone+1]) {
		t.Fatalf("no 410 followed by a first round: %+v", rounds)
	}
	for _, r := range rounds[gone+2:] {
		if isFirst(r) {
			t.Errorf("a second first round after the 410: %s", r.query)
		}
	}
	st, err := h.m.State(t.Context(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := shows(st, first.ID); !ok || st.Dashboard.Stale {
		t.Errorf("after the new round: %+v", st.Dashboard)
	}
}

// signInElsewhere signs upn in with an identity client of its own that
// may write calendars, as the person's Outlook would, and returns a token.
func signInElsewhere(t *testing.T, h *harness, upn string) string {
	t.Helper()
	ctx := t.Context()
	id, err := identity.New(identity.Config{
		ClientID: sandbox.ClientID, Authority: "https://" + sandbox.LoginHost + "/" + sandbox.TenantID,
		HTTPClient: &http.Client{Transport: h.sb.Transport()},
		Caches:     identity.SealedCaches{Store: h.store, Box: h.box},
		Scopes:     []string{"User.Read", "Calendars.ReadWrite"},
	})
	if err != nil {
		t.Fatal(err)
	}
	flow, err := id.StartDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out := h.sb.Approve(flow.Code().UserCode, upn); out != sandbox.OutcomeApproved {
		t.Fatalf("approving %s: %s", upn, out)
	}
	acct, err := flow.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := id.Token(ctx, acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// With the default periods, on a clock five times faster: a meeting
// booked from Outlook shows within 15 s, one its organiser cancels is
// shown cancelled within 15 s, and one its organiser moves out of the
// window (@removed) leaves the screen within 15 s.
func TestChangesFromOutlookReachTheScreenWithin15Seconds(t *testing.T) {
	t.Parallel()
	clk := newFastClock(time.Now(), 5)
	// It is noon where the screen is: the test's few minutes of the
	// clock stay in one day.
	h := newHarnessOn(t, sandbox.Options{Now: clk.now}, clk.tune, func(c *screens.Config) { c.TimeZone = zoneAt(12) })
	id := h.screen("Lobby door")
	h.signIn(id, lobby)
	ada := signInElsewhere(t, h, "ada@placard.example")
	const within = 15 * time.Second

	// took waits (in real time, generously) for the screen to show what
	// ok says, and returns how long that took on the clock.
	took := func(what string, ok func(wire.State) bool, change func()) time.Duration {
		t.Helper()
		at := clk.now()
		change()
		h.wait(id, 10*time.Second, what, ok)
		d := clk.now().Sub(at)
		t.Logf("%s: %v on the clock", what, d.Round(100*time.Millisecond))
		return d
	}
	var booked sandbox.Event
	if d := took("the booking", func(st wire.State) bool { return showing(booked.ID)(st) }, func() { booked = book(t, h.sb, "Walk-through", 10) }); d > within {
		t.Errorf("a booking showed after %v", d)
	}
	if d := took("the cancellation", func(st wire.State) bool { ok, c := shows(st, booked.ID); return !ok || c }, func() {
		if err := h.sb.CancelMeeting(lobby, booked.ID); err != nil {
			t.Fatal(err)
		}
	}); d > within {
		t.Errorf("a cancelled meeting left after %v", d)
	}

	moved := book(t, h.sb, "Planning", 30)
	h.wait(id, 10*time.Second, "the booking", showing(moved.ID))
	day, err := h.sb.DayEvents("ada@placard.example", "")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(day, func(e sandbox.Event) bool { return e.ICalUID == moved.ICalUID })
	if i < 0 {
		t.Fatalf("no organiser's copy in %+v", day)
	}
	g := graph.New("", &http.Client{Transport: h.sb.Transport()})
	later := moved.Start.AddDate(0, 0, 10)
	if d := took("the meeting moved out of the window", func(st wire.State) bool { ok, _ := shows(st, moved.ID); return st.Dashboard != nil && !ok }, func() {
		start, end := graph.At(later, time.UTC), graph.At(later.Add(15*time.Minute), time.UTC)
		if _, err := g.UpdateEvent(t.Context(), ada, day[i].ID, graph.EventChange{Start: &start, End: &end}); err != nil {
			t.Fatal(err)
		}
	}); d > within {
		t.Errorf("a meeting moved away left after %v", d)
	}
	if n := h.sb.Requests("graph /me/calendarView"); n != 0 {
		t.Errorf("%d full calendarView reads", n)
	}
}

// A replica that takes an account over continues its rounds from the
// deltaLink and events its last owner stored: no first round, and the
// events held before stay.
func TestAReplicaThatTakesOverContinuesFromTheStoredDeltaLink(t *testing.T) {
	t.Parallel()
	rs := newReplicas()
	a := newHarness(t, rs.asReplica("a"))
	b := a.replica(nil, rs.asReplica("b"))
	onA := a.screen("Lobby door")
	a.signIn(onA, lobby)
	acct := accountOf(t, a, onA)
	rs.cluster.awaitOwner(t, acct, "a", 5*time.Second)
	onB := showOn(t, b, "Lobby door, inside", acct)
	b.waitPhase(onB, 10*time.Second, wire.PhaseDashboard)

	synced := make(chan server.CalendarSync, 64)
	a.hooks.mu.Lock()
	a.hooks.synced = synced
	a.hooks.mu.Unlock()
	before := book(t, a.sb, "Walk-through", 5)
	a.wait(onA, 5*time.Second, "the booking", showing(before.ID))
	stored := awaitSynced(t, synced, before.ID)
	if n := len(deltaRounds(b)); n != 0 {
		t.Fatalf("b read the calendar %d times before it owned the account", n)
	}

	b.hooks.mu.Lock()
	b.hooks.synced = synced
	b.hooks.mu.Unlock()
	rs.cluster.cutOff("a")
	rs.cluster.awaitOwner(t, acct, "b", 10*time.Second)
	after := book(t, a.sb, "Review", 25)
	b.wait(onB, 10*time.Second, "the booking made after the takeover", func(st wire.State) bool {
		if !showing(after.ID)(st) {
			return false
		}
		if !showing(before.ID)(st) {
			t.Fatalf("b continued without the events a stored: %+v", st.Dashboard.Agenda)
		}
		return true
	})
	rounds := deltaRounds(b)
	if len(rounds) == 0 {
		t.Fatal("b never read the calendar")
	}
	for _, r := range rounds {
		if isFirst(r) || !strings.Contains(r.query, "deltatoken=") {
			t.Errorf("b read the window again instead of continuing: %s", r.query)
		}
	}
	if now := awaitSynced(t, synced, after.ID); now.Version <= stored.Version {
		t.Errorf("b stored version %d after a's %d", now.Version, stored.Version)
	}
}

// awaitSynced waits for a write of a calendar's rounds that holds the
// event.
func awaitSynced(t *testing.T, synced <-chan server.CalendarSync, event string) server.CalendarSync {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-synced:
			if strings.Contains(string(c.Events), event) && c.DeltaLink != "" {
				return c
			}
		case <-deadline:
			t.Fatalf("no stored rounds with %s within 10 s", event)
		}
	}
}

// The window of the rounds is fixed for a day in the screen's zone: a new
// first round begins at its midnight, and not before.
func TestTheCalendarWindowRollsAtMidnightInTheScreensZone(t *testing.T) {
	t.Parallel()
	// The screen is where it is 23:xx now; the clock stands still but
	// when the test moves it, by an hour at most: tokens live longer.
	zone := zoneAt(23)
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	start := time.Now().In(loc)
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	h := newHarnessOn(t, sandbox.Options{Now: now, AccessTokenLifetime: 3 * time.Hour}, fastPolls, func(c *screens.Config) {
		c.Now = now
		c.TimeZone = zoneAt(11) // the server's: the screen has its own
	})
	ctx := t.Context()
	// signedInAt makes a screen in a zone and signs it in as the lobby.
	signedInAt := func(name, zone string) string {
		t.Helper()
		sc, _, err := h.m.Open(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.UpdateScreen(ctx, sc.ID, func(s *server.Screen) error { s.Settings.TimeZone = zone; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := h.m.Attach(ctx, sc.ID, screens.Hello{}); err != nil {
			t.Fatal(err)
		}
		h.signIn(sc.ID, lobby)
		return sc.ID
	}
	door := signedInAt("Lobby door", zone)

	// starts are the windows' starts of the first rounds so far.
	starts := func() []string {
		var out []string
		for _, r := range deltaRounds(h) {
			if isFirst(r) {
				q, _ := url.ParseQuery(r.query)
				out = append(out, q.Get("startDateTime"))
			}
		}
		return out
	}
	y, mo, d := start.Date()
	wantStart := func(day int) string {
		return time.Date(y, mo, d+day-2, 0, 0, 0, 0, loc).UTC().Format(time.RFC3339)
	}
	midnight := time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
	awaitRounds := func(n int) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := h.sb.AwaitRequests(c, "graph /me/calendarView/delta", h.sb.Requests("graph /me/calendarView/delta")+n); err != nil {
			t.Fatal(err)
		}
	}
	awaitRounds(3)
	clock.Store(midnight.Add(-time.Second).UnixNano())
	awaitRounds(3)
	if got := starts(); !slices.Equal(got, []string{wantStart(0)}) {
		t.Fatalf("a second before midnight in %s, first rounds from %v, want one from %s", zone, got, wantStart(0))
	}
	clock.Store(midnight.Add(time.Second).UnixNano())
	awaitRounds(3)
	if got := starts(); !slices.Equal(got, []string{wantStart(0), wantStart(1)}) {
		t.Errorf("a second after midnight in %s, first rounds from %v, want %s then %s", zone, got, wantStart(0), wantStart(1))
	}
	if r := deltaRounds(h); isFirst(r[len(r)-1]) {
		t.Errorf("the rounds after the new window's first do not continue it: %s", r[len(r)-1].query)
	}

	// The screen moves to another zone: the window is that zone's days.
	other := zoneAt(11)
	if _, err := h.store.UpdateScreen(ctx, door, func(s *server.Screen) error { s.Settings.TimeZone = other; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(ctx, door); err != nil {
		t.Fatal(err)
	}
	awaitRounds(3)
	there := now().In(wire.Zone(other))
	want := time.Date(there.Year(), there.Month(), there.Day()-2, 0, 0, 0, 0, wire.Zone(other)).UTC().Format(time.RFC3339)
	if got := starts(); len(got) != 3 || got[2] != want {
		t.Errorf("after the screen moved to %s, first rounds from %v, want a third from %s", other, got, want)
	}

	// A second screen elsewhere comes to show the account: the window is
	// its zone's days. The first screen is renamed, still in its zone:
	// the window stays.
	third := zoneAt(17)
	signedInAt("Lobby desk", third)
	awaitRounds(3)
	if got := starts(); len(got) != 4 {
		t.Fatalf("after a screen in %s came to show the account, first rounds from %v, want a fourth", third, got)
	}
	if _, err := h.store.UpdateScreen(ctx, door, func(s *server.Screen) error { s.Name = "Lobby door (east)"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(ctx, door); err != nil {
		t.Fatal(err)
	}
	awaitRounds(3)
	if got := starts(); len(got) != 4 {
		t.Errorf("after the screen in %s was renamed, first rounds from %v: the window moved back to its zone", other, got)
	}
}

package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/screens"
)

// allowActions lets the screen called name act (book, extend, end, check
// in), as an administrator does through the API: a new screen may not.
func allowActions(t *testing.T, m *Main, name string) {
	t.Helper()
	id := screenID(t, m, name)
	if status, body := call(t, m, newToken(t, m), "PUT", "/admin/api/screens/"+id+"/settings", `{"actions":true}`); status != http.StatusOK {
		t.Fatalf("letting %s act: %d %v", name, status, body)
	}
}

func TestTabletBooksTheNextFreeSlotsWithoutOverlap(t *testing.T) {
	m := testServer(t, inTheMorning, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
	})
	tablet := &wsScreen{t: t, name: "Room 2 tablet", client: httpClient(t), states: make(chan wire.State, 64), touch: true}
	_, tablet.html = get(t, tablet.client, m.URL+"/?screen="+url.QueryEscape(tablet.name))
	allowActions(t, m, tablet.name)
	tablet.dial(m)
	code := tablet.waitPhase(10*time.Second, wire.PhaseCode).Code.UserCode
	if out := m.Sandbox.Approve(code, "ada@placard.example"); out != "approved" {
		t.Fatalf("approving: %s", out)
	}
	// The tablet may book once the account's calendar has been read.
	st := tablet.waitFor(20*time.Second, "a dashboard that can book", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.CanBook
	})
	if !st.Screen.Touch || !st.Screen.Acts || st.Dashboard.Agenda == nil {
		t.Fatalf("a tablet that books: %+v %+v", st.Screen, st.Dashboard)
	}

	book := func(minutes int, before wire.Booking) wire.Booking {
		t.Helper()
		msg, _ := wire.Encode(wire.QuickBook{Minutes: minutes})
		if err := tablet.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		st := tablet.waitFor(20*time.Second, "a booking's outcome", func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.Booking != nil && *st.Dashboard.Booking != before
		})
		return *st.Dashboard.Booking
	}
	first := book(30, wire.Booking{})
	if !first.OK || first.Start.IsZero() || first.End.Sub(first.Start) != 30*time.Minute {
		t.Fatalf("booking 30 minutes: %+v", first)
	}
	second := book(15, first)
	if !second.OK {
		t.Fatalf("booking 15 minutes: %+v", second)
	}

	token, err := m.Sandbox.AccessToken("ada@placard.example", "Calendars.Read")
	if err != nil {
		t.Fatal(err)
	}
	g := graph.New("", &http.Client{Transport: m.Sandbox.Transport()})
	now := m.Now()
	events, err := g.CalendarView(t.Context(), token, now.Add(-time.Hour), now.Add(26*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var booked []graph.Event
	for _, e := range events {
		if e.Subject == "Booked on Room 2 tablet" {
			booked = append(booked, e)
		}
	}
	if len(booked) != 2 {
		t.Fatalf("the calendar holds %d quick bookings, want 2", len(booked))
	}
	// Neither booking overlaps anything else in the calendar.
	for _, b := range booked {
		bs, _ := b.Start.Time()
		be, _ := b.End.Time()
		for _, e := range events {
			if e.ID == b.ID || e.IsCancelled || e.IsAllDay || e.ShowAs == "free" {
				continue
			}
			es, _ := e.Start.Time()
			ee, _ := e.End.Time()
			if es.Before(be) && ee.After(bs) {
				t.Errorf("the booking %v–%v overlaps %q %v–%v", bs, be, e.Subject, es, ee)
			}
		}
	}
}

func TestTabletConfirmsThenShowsTheBooking(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
	})
	browser := browsertest.New(t)
	tablet := screenSizes[3]
	browsertest.Run(t, browser, 30*time.Second, "opening the tablet",
		emulate(tablet),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape("Room 3 tablet")),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
	)
	allowActions(t, m, "Room 3 tablet")
	approveShown(t, browser, m, "grace@placard.example")
	var question, result, ok string
	browsertest.Run(t, browser, 30*time.Second, "booking 15 minutes",
		chromedp.WaitVisible(browsertest.TestID("quick-book", `[data-minutes="15"]`)),
		chromedp.Click(browsertest.TestID("quick-book", `[data-minutes="15"]`)),
		chromedp.WaitVisible(browsertest.TestID("quick-book-confirm")),
		chromedp.Text(`.confirm-question`, &question),
		chromedp.Click(browsertest.TestID("quick-book-confirm")),
		chromedp.WaitVisible(browsertest.TestID("quick-book-result")),
		chromedp.Text(browsertest.TestID("quick-book-result"), &result),
		chromedp.AttributeValue(browsertest.TestID("quick-book-result"), "data-ok", &ok, nil),
	)
	if !regexp.MustCompile(`^Book \d{1,2}:\d\d.*\?$`).MatchString(question) {
		t.Errorf("the tablet asks %q, want the slot it books", question)
	}
	if ok != "true" || !strings.HasPrefix(result, "Booked ") {
		t.Errorf("quick-book-result %q (data-ok %q)", result, ok)
	}
	// What was asked is what was booked.
	if slot := strings.TrimSuffix(strings.TrimPrefix(question, "Book "), "?"); !strings.Contains(result, slot) {
		t.Errorf("asked to book %q, booked %q", slot, result)
	}
}

// The touch capability is the screen's own claim: a stolen screen cookie
// must not fill a room's day with events.
func TestQuickBookingsAreLimitedPerScreen(t *testing.T) {
	m := testServer(t, inTheMorning, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
		tune := m.Tune
		m.Tune = func(c *screens.Config) {
			tune(c)
			c.BookingsPerScreen = limit.Rate{Max: 2, Per: time.Hour}
		}
	})
	tablet := &wsScreen{t: t, name: "Room 3 tablet", client: httpClient(t), states: make(chan wire.State, 64), touch: true}
	_, tablet.html = get(t, tablet.client, m.URL+"/?screen="+url.QueryEscape(tablet.name))
	allowActions(t, m, tablet.name)
	tablet.dial(m)
	if st := tablet.signIn(m, "ada@placard.example"); !st.Dashboard.CanBook {
		tablet.waitFor(20*time.Second, "a dashboard that can book", func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.CanBook
		})
	}
	var last wire.Booking
	for i := range 3 {
		msg, _ := wire.Encode(wire.QuickBook{Minutes: 15})
		if err := tablet.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		st := tablet.waitFor(20*time.Second, "a booking's outcome", func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.Booking != nil && *st.Dashboard.Booking != last
		})
		last = *st.Dashboard.Booking
		if want := i < 2; last.OK != want {
			t.Fatalf("booking %d: %+v, want OK %v", i+1, last, want)
		}
	}
	if last.Problem != wire.BookTooMany {
		t.Errorf("the third booking's problem %q, want %q", last.Problem, wire.BookTooMany)
	}
}

// An administrator refuses quick booking to a screen: it offers no button,
// and a booking asked through its WebSocket anyway (a stolen cookie, a
// browser that says it is a tablet) is refused in words the screen shows,
// with nothing asked of Graph.
func TestAScreenRefusedBookingByAnAdministratorCannotBook(t *testing.T) {
	m := testServer(t, inTheMorning, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
	})
	token := newToken(t, m)
	tablet := &wsScreen{t: t, name: "Lobby TV", client: httpClient(t), states: make(chan wire.State, 64), touch: true}
	_, tablet.html = get(t, tablet.client, m.URL+"/?screen="+url.QueryEscape(tablet.name))
	allowActions(t, m, tablet.name)
	tablet.dial(m)
	if st := tablet.signIn(m, "ada@placard.example"); !st.Dashboard.CanBook {
		tablet.waitFor(20*time.Second, "a dashboard that can book", func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.CanBook
		})
	}
	id := screenID(t, m, tablet.name)
	status, body := call(t, m, token, "PUT", "/admin/api/screens/"+id+"/settings", `{"actions":true,"no_quick_book":true}`)
	if set, _ := body["settings"].(map[string]any); status != http.StatusOK || set["no_quick_book"] != true {
		t.Fatalf("refusing booking through the API: %d %v", status, body)
	}
	tablet.waitFor(10*time.Second, "a dashboard that cannot book", func(st wire.State) bool {
		return st.Dashboard != nil && !st.Dashboard.CanBook && st.Screen.Touch && st.Screen.Acts
	})

	before := m.Sandbox.Requests("graph /me/events")
	msg, _ := wire.Encode(wire.QuickBook{Minutes: 30})
	if err := tablet.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
	st := tablet.waitFor(20*time.Second, "a booking's outcome", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Booking != nil
	})
	if b := *st.Dashboard.Booking; b.OK || b.Problem != wire.BookScreenRefused {
		t.Errorf("a booking from a refused screen: %+v, want refused with %q", b, wire.BookScreenRefused)
	}
	if st.Dashboard.CanBook {
		t.Error("the refused screen is told it can book")
	}
	if n := m.Sandbox.Requests("graph /me/events") - before; n != 0 {
		t.Errorf("Graph was asked %d times to create an event for a refused screen", n)
	}
	events, err := m.Store.Audit(t.Context(), 20)
	if err != nil {
		t.Fatal(err)
	}
	if !hasAudit(events, server.AuditSettings, "", "quick booking false") {
		t.Errorf("the refusal is not in the audit trail: %+v", events)
	}
}

// The setting reaches the replica the screen is connected to: refused
// through replica A's API, the tablet on replica B loses its buttons, and
// B refuses its booking.
func TestQuickBookingTurnedOffOnOneReplicaIsRefusedOnAnother(t *testing.T) {
	sb := startSandbox(t)
	db := pgtest.DB(t)
	booking := func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
	}
	a, b := replicaOf(t, sb, db, booking), replicaOf(t, sb, db, booking)
	tablet := &wsScreen{t: t, name: "Room 5 tablet", client: httpClient(t), states: make(chan wire.State, 64), touch: true}
	_, tablet.html = get(t, tablet.client, b.URL+"/?screen="+url.QueryEscape(tablet.name))
	allowActions(t, a, tablet.name)
	tablet.dial(b)
	if st := tablet.signInThrough(sb, "ada@placard.example"); !st.Dashboard.CanBook {
		tablet.waitFor(30*time.Second, "a dashboard that can book", func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.CanBook
		})
	}
	id := screenID(t, b, tablet.name)
	if status, body := call(t, a, newToken(t, a), "PUT", "/admin/api/screens/"+id+"/settings", `{"actions":true,"no_quick_book":true}`); status != http.StatusOK {
		t.Fatalf("refusing booking through replica A: %d %v", status, body)
	}
	tablet.waitFor(15*time.Second, "a dashboard that cannot book", func(st wire.State) bool {
		return st.Dashboard != nil && !st.Dashboard.CanBook
	})
	msg, _ := wire.Encode(wire.QuickBook{Minutes: 15})
	if err := tablet.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
	st := tablet.waitFor(20*time.Second, "a booking's outcome", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Booking != nil
	})
	if bk := *st.Dashboard.Booking; bk.OK || bk.Problem != wire.BookScreenRefused {
		t.Errorf("a booking on replica B after the refusal on A: %+v, want refused with %q", bk, wire.BookScreenRefused)
	}
}

// What may act is an administrator's setting: a browser that says it has a
// touch screen shows no button and acts in nothing until its screen is
// let act; then it shows them, and its sign-out works.
func TestWhatMayActIsTheAdministratorsSetting(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
	})
	tablet := &wsScreen{t: t, name: "Room 6 tablet", client: httpClient(t), states: make(chan wire.State, 64), touch: true}
	_, tablet.html = get(t, tablet.client, m.URL+"/?screen="+url.QueryEscape(tablet.name))
	tablet.dial(m)
	st := tablet.signIn(m, "ada@placard.example")
	if st.Screen.Acts || st.Dashboard.CanBook {
		t.Errorf("a screen nobody let act, whose browser says it is touch: acts %v, can book %v", st.Screen.Acts, st.Dashboard.CanBook)
	}
	bye, _ := wire.Encode(wire.SignOut{})
	if err := tablet.conn.WriteMessage(websocket.TextMessage, bye); err != nil {
		t.Fatal(err)
	}
	// A booking asked after it is refused too, and shown: the screen's
	// messages are handled in order, so the sign-out was handled (and
	// refused) before.
	book, _ := wire.Encode(wire.QuickBook{Minutes: 15})
	if err := tablet.conn.WriteMessage(websocket.TextMessage, book); err != nil {
		t.Fatal(err)
	}
	st = tablet.waitFor(10*time.Second, "a booking's outcome", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Booking != nil
	})
	if b := *st.Dashboard.Booking; b.OK || b.Problem != wire.BookScreenRefused {
		t.Errorf("a booking from a screen that may not act: %+v, want refused", b)
	}
	allowActions(t, m, tablet.name)
	st = tablet.waitFor(10*time.Second, "a dashboard with buttons", func(st wire.State) bool {
		return st.Dashboard != nil && st.Screen.Touch && st.Screen.Acts
	})
	if sc, _ := m.Store.Screen(t.Context(), screenID(t, m, tablet.name)); sc.AccountID == "" {
		t.Fatal("a screen that may not act signed its account out")
	}
	if err := tablet.conn.WriteMessage(websocket.TextMessage, bye); err != nil {
		t.Fatal(err)
	}
	tablet.waitPhase(10*time.Second, wire.PhaseCode)
}

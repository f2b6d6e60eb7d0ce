package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// boardPeriod is how often boards read Graph in these tests (presence
// and free/busy): a change must show within one period, and a little.
const boardPeriod = 500 * time.Millisecond

// shownTile is a board's tile as the browser shows it.
type shownTile struct {
	Name, UPN, Status, Page, Text string
}

const tilesJS = `[...document.querySelectorAll('[data-testid="board-tile"]')].map(el => ({
  Name: el.dataset.name, UPN: el.dataset.upn, Status: el.dataset.status, Page: el.dataset.page,
  Text: el.textContent.replace(/\s+/g, " ").trim()}))`

// signInBoard opens a screen in a new tab, makes it a board with settings
// (admin API), signs it in as upn with the code it then shows, and waits
// for its tiles; with no upn it returns once the board's code shows. Every WebSocket frame the tab receives goes to got.
func signInBoard(t *testing.T, browser context.Context, m *Main, name, settings, upn string, got *frames) context.Context {
	t.Helper()
	tab := browsertest.Tab(t, browser)
	chromedp.ListenTarget(tab, func(ev any) {
		if f, ok := ev.(*network.EventWebSocketFrameReceived); ok {
			got.add(f.Response.PayloadData)
		}
	})
	browsertest.Run(t, tab, 30*time.Second, "opening "+name,
		network.Enable(),
		emulate(boardSizes[0]),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape(name)),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
	)
	old := textOf(t, tab, "user-code")
	if status, body := call(t, m, newToken(t, m), "PUT", "/admin/api/screens/"+screenID(t, m, name)+"/settings", settings); status != http.StatusOK {
		t.Fatalf("making %s a board: %d %v", name, status, body)
	}
	// A board's sign-in asks for its permissions: the screen offers a new
	// code.
	browsertest.Run(t, tab, 20*time.Second, "waiting for the board's code",
		browsertest.Until(fmt.Sprintf(`(document.querySelector('[data-testid="user-code"]') || {}).textContent !== %q`, old)))
	if upn == "" {
		return tab
	}
	if out := m.Sandbox.Approve(textOf(t, tab, "user-code"), upn); out != sandbox.OutcomeApproved {
		t.Fatalf("approving %s's code as %s: %s", name, upn, out)
	}
	waitState(t, tab, 20*time.Second, "dashboard")
	browsertest.Run(t, tab, 20*time.Second, "waiting for the tiles", chromedp.WaitReady(browsertest.TestID("board-tile")))
	return tab
}

// previewOf is an administrator's preview of a screen (the admin API).
func previewOf(t *testing.T, m *Main, name string) string {
	t.Helper()
	req, err := http.NewRequest("GET", m.URL+"/admin/api/screens/"+screenID(t, m, name)+"/preview", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+newToken(t, m))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("previewing %s: %s %v\n%.300s", name, res.Status, err, b)
	}
	return string(b)
}

func elementsIn(t *testing.T, tab context.Context, testid string) []string {
	t.Helper()
	var ids []string
	browsertest.Run(t, tab, 5*time.Second, "finding "+testid, chromedp.Evaluate(
		fmt.Sprintf(`[...document.querySelectorAll('[data-testid=%q]')].map(e => e.dataset.testid)`, testid), &ids))
	return ids
}

func tilesOf(t *testing.T, tab context.Context) []shownTile {
	t.Helper()
	var tiles []shownTile
	browsertest.Run(t, tab, 5*time.Second, "reading the tiles", chromedp.Evaluate(tilesJS, &tiles))
	return tiles
}

// calendarAt is what a mailbox's calendar in the sandbox says at now:
// busy until the end of the run of meetings that covers now, or free until
// its next meeting (zero when none comes).
func calendarAt(t *testing.T, sb *sandbox.Sandbox, upn string, now time.Time) (busy bool, until time.Time) {
	t.Helper()
	var evs []sandbox.Event
	for _, day := range []time.Time{now.Add(-24 * time.Hour), now, now.Add(24 * time.Hour)} {
		got, err := sb.DayEvents(upn, day.UTC().Format("2006-01-02"))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got...)
	}
	blocks := func(e sandbox.Event) bool { return !e.IsCancelled && e.ShowAs != "free" }
	end := now
	for more := true; more; {
		more = false
		for _, e := range evs {
			if blocks(e) && !e.Start.After(end) && e.End.After(end) {
				end, more = e.End, true
			}
		}
	}
	if end.After(now) {
		return true, end
	}
	for _, e := range evs {
		if blocks(e) && e.Start.After(now) && (until.IsZero() || e.Start.Before(until)) {
			until = e.Start
		}
	}
	return false, until
}

// TestBoardsOnSignedInScreens drives real screens signed in through the
// sandbox: a rooms board of a room list shows each room as its calendar
// says, a meeting booked in a room within one poll, and never a private
// meeting's subject, in the page, a WebSocket frame or the prerendered
// HTML; a team board of 12 shows each person's presence and when they are
// free, and a presence change within one presence period.
func TestBoardsOnSignedInScreens(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning, func(m *Main) {
		tune := m.Tune
		m.Tune = func(c *screens.Config) {
			tune(c)
			c.PollEvery, c.ScheduleEvery = boardPeriod, boardPeriod
			// A refused consent's sentence stays 8 holds before the
			// screen offers to sign in again.
			c.ProblemHold = 250 * time.Millisecond
		}
	})
	browser := browsertest.New(t)
	sb := m.Sandbox

	t.Run("rooms", func(t *testing.T) {
		const list = "paris-hq@" + sandbox.TenantDomain
		var rooms []string
		for _, l := range sb.Rooms().RoomLists {
			if l.Email == list {
				rooms = l.Rooms
			}
		}
		if len(rooms) < 3 {
			t.Fatalf("the sandbox's %s has %d rooms", list, len(rooms))
		}
		var got frames
		tab := signInBoard(t, browser, m, "Paris lobby", `{"layout":"rooms","rooms":"`+list+`"}`, "ada@placard.example", &got)
		var layout, kind string
		browsertest.Run(t, tab, 5*time.Second, "reading the layout",
			chromedp.AttributeValue(browsertest.TestID("screen"), "data-layout", &layout, nil),
			chromedp.AttributeValue(browsertest.TestID("board"), "data-kind", &kind, nil))
		if layout != "rooms" || kind != "rooms" {
			t.Errorf("data-layout %q, board data-kind %q, want rooms", layout, kind)
		}

		// Each room as its calendar says now (read again, up to a poll
		// later, when a meeting starts or ends as the tiles are read).
		var tiles []shownTile
		want := map[string]string{}
		eventually(t, 2*boardPeriod+2*time.Second, "every room as its calendar says", func() (bool, string) {
			now := sb.Now()
			tiles = tilesOf(t, tab)
			var wrong []string
			for _, upn := range rooms {
				busy, until := calendarAt(t, sb, upn, now)
				switch {
				case busy:
					want[upn] = wire.RoomBusy
				case !until.IsZero() && until.Sub(now) <= wire.RoomSoonWithin:
					want[upn] = wire.RoomSoon
				default:
					want[upn] = wire.RoomFree
				}
			}
			for _, tile := range tiles {
				if tile.Status != want[tile.UPN] {
					wrong = append(wrong, fmt.Sprintf("%s (%s) shows %s, its calendar says %s: %q", tile.Name, tile.UPN, tile.Status, want[tile.UPN], tile.Text))
				}
			}
			return len(tiles) == len(rooms) && len(wrong) == 0, fmt.Sprintf("%d tiles of %d rooms; %s", len(tiles), len(rooms), strings.Join(wrong, "; "))
		})
		rank := map[string]int{wire.RoomFree: 0, wire.RoomSoon: 1, wire.RoomBusy: 2}
		var free string
		for i, tile := range tiles {
			if i > 0 && rank[tile.Status] < rank[tiles[i-1].Status] {
				t.Errorf("%s (%s) comes after %s (%s): free rooms first", tile.Name, tile.Status, tiles[i-1].Name, tiles[i-1].Status)
			}
			if free == "" && tile.Status == wire.RoomFree {
				if _, until := calendarAt(t, sb, tile.UPN, sb.Now()); until.IsZero() || until.Sub(sb.Now()) > 45*time.Minute {
					free = tile.UPN
				}
			}
		}
		if free == "" {
			t.Fatalf("no room of %s is free for the next 45 minutes: %+v", list, tiles)
		}

		// A private meeting booked now in a free room: the room is busy
		// within a poll, and its subject goes nowhere.
		const secret = "Acquisition of Initech"
		now := sb.Now()
		if _, err := sb.BookRoom(free, sandbox.Booking{Organizer: "grace@placard.example", Subject: secret,
			Start: now.Add(-time.Minute), End: now.Add(30 * time.Minute), Sensitivity: "private"}); err != nil {
			t.Fatalf("booking %s: %v", free, err)
		}
		booked := time.Now()
		browsertest.Run(t, tab, 10*time.Second, "waiting for the booking",
			browsertest.Until(fmt.Sprintf(`(document.querySelector('[data-testid="board-tile"][data-upn=%q]') || {dataset: {}}).dataset.status === "busy"`, free)))
		if took := time.Since(booked); took > 2*boardPeriod+4*time.Second {
			t.Errorf("the booking showed after %v, with rooms read every %v", took, boardPeriod)
		}
		var html, prerendered string
		browsertest.Run(t, tab, 10*time.Second, "reading the page and its prerender",
			chromedp.OuterHTML("html", &html),
			chromedp.Evaluate(`fetch(location.href).then(r => r.text())`, &prerendered,
				func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if !strings.Contains(prerendered, `data-testid="board"`) {
			t.Errorf("the prerendered page has no board")
		}
		preview := previewOf(t, m, "Paris lobby")
		if n := strings.Count(preview, `data-testid="board-tile"`); n != len(rooms) {
			t.Errorf("the administrator's preview shows %d tiles, want %d", n, len(rooms))
		}
		for where, s := range map[string]string{"the page": html, "the prerendered page": prerendered, "a WebSocket frame": strings.Join(got.all(), "\n"), "the preview": preview} {
			if strings.Contains(s, "Initech") {
				t.Errorf("%s carries the private meeting's subject", where)
			}
		}
	})

	t.Run("people", func(t *testing.T) {
		var team sandbox.GroupInfo
		for _, g := range sb.Groups() {
			if g.DisplayName == "Team" {
				team = g
			}
		}
		if len(team.Members) < 12 {
			t.Fatalf("the sandbox's Team has %d members, want 12 or more", len(team.Members))
		}
		var got frames
		tab := signInBoard(t, browser, m, "Team corner", `{"layout":"people","group":"`+team.ID+`"}`, "ada@placard.example", &got)
		st, err := m.Screens.State(t.Context(), screenID(t, m, "Team corner"), 0)
		if err != nil {
			t.Fatal(err)
		}
		zone := wire.Zone(st.Screen.TimeZone)
		clock := func(at time.Time) string {
			if st.Screen.Clock24 {
				return at.In(zone).Format("15:04")
			}
			return at.In(zone).Format("3:04 PM")
		}
		users := sb.Users()
		now := sb.Now()
		tiles := tilesOf(t, tab)
		if len(tiles) != len(team.Members) {
			t.Fatalf("%d tiles, want the team's %d: %+v", len(tiles), len(team.Members), tiles)
		}
		pages := map[string]int{}
		for _, tile := range tiles {
			pages[tile.Page]++
			i := slices.IndexFunc(users, func(u sandbox.UserInfo) bool { return strings.EqualFold(u.UPN, tile.UPN) })
			if i < 0 || !slices.Contains(team.Members, users[i].UPN) {
				t.Errorf("tile %+v is nobody of the team", tile)
				continue
			}
			u := users[i]
			if tile.Name != u.DisplayName {
				t.Errorf("%s's tile is named %q, want %q", u.UPN, tile.Name, u.DisplayName)
			}
			if u.Teams && tile.Status != u.Availability {
				t.Errorf("%s shows %s, the sandbox says %s", u.UPN, tile.Status, u.Availability)
			}
			if !u.Mailbox {
				continue
			}
			busy, until := calendarAt(t, sb, u.UPN, now)
			freeAt := "Free at " + clock(until)
			if busy != strings.Contains(tile.Text, freeAt) {
				t.Errorf("%s: busy %v until %v, and the tile says %q", u.UPN, busy, until, tile.Text)
			}
		}
		if len(pages) < 2 {
			t.Errorf("12 people on %d page: %v", len(pages), pages)
		}
		// The administrator's preview shows the board with initials: the
		// people's photos are served to their screen alone.
		var photos int
		browsertest.Run(t, tab, 5*time.Second, "counting photos", chromedp.Evaluate(`document.querySelectorAll("img.tile-avatar").length`, &photos))
		preview := previewOf(t, m, "Team corner")
		if n := strings.Count(preview, `data-testid="board-tile"`); n != len(team.Members) || photos == 0 || strings.Contains(preview, wire.PhotoPath) {
			t.Errorf("the preview shows %d tiles of %d, with photos: %v (the screen shows %d)", n, len(team.Members), strings.Contains(preview, wire.PhotoPath), photos)
		}

		// The page turns by itself (every 10 s, on the server's clock),
		// and shows that page's tiles only.
		var first string
		browsertest.Run(t, tab, 5*time.Second, "reading the page", chromedp.AttributeValue(browsertest.TestID("board-page"), "data-page", &first, nil))
		browsertest.Run(t, tab, 15*time.Second, "waiting for the page to turn",
			browsertest.Until(fmt.Sprintf(`document.querySelector('[data-testid="board-page"]').dataset.page !== %q`, first)))
		var turned struct {
			Page  string
			Shown []string
		}
		browsertest.Run(t, tab, 5*time.Second, "reading the tiles shown", chromedp.Evaluate(`({
		  Page: document.querySelector('[data-testid="board-page"]').dataset.page,
		  Shown: [...document.querySelectorAll('[data-testid="board-tile"]')].filter(el => el.getClientRects().length > 0).map(el => el.dataset.page)})`, &turned))
		if len(turned.Shown) == 0 || len(turned.Shown) > 6 {
			t.Errorf("page %s shows %d tiles", turned.Page, len(turned.Shown))
		}
		for _, p := range turned.Shown {
			if p != turned.Page {
				t.Errorf("page %s shows a tile of page %s", turned.Page, p)
			}
		}

		// Grace presents: her tile says so within a presence period.
		changed := time.Now()
		if err := sb.SetPresence("grace@placard.example", "DoNotDisturb", "Presenting"); err != nil {
			t.Fatal(err)
		}
		browsertest.Run(t, tab, 10*time.Second, "waiting for Grace's presence",
			browsertest.Until(`(document.querySelector('[data-testid="board-tile"][data-upn="grace@placard.example"]') || {dataset: {}}).dataset.status === "DoNotDisturb"`))
		if took := time.Since(changed); took > 2*boardPeriod+4*time.Second {
			t.Errorf("the presence change showed after %v, with presence read every %v", took, boardPeriod)
		}
		for _, tile := range tilesOf(t, tab) {
			if tile.UPN == "grace@placard.example" && !strings.Contains(tile.Text, "Do not disturb · Presenting") {
				t.Errorf("Grace's tile says %q", tile.Text)
			}
		}
	})

	// Place.Read.All not consented: the board says which permission and
	// who can grant it; once an administrator consents and the account
	// signs in again, it fills.
	t.Run("consent", func(t *testing.T) {
		f := sb.Faults()
		f.PlaceConsentMissing = true
		sb.SetFaults(f)
		var got frames
		tab := signInBoard(t, browser, m, "Hall board", `{"layout":"rooms","rooms":"paris-hq@`+sandbox.TenantDomain+`"}`, "", &got)
		if out := sb.Approve(textOf(t, tab, "user-code"), "ada@placard.example"); out != sandbox.OutcomeConsent {
			t.Fatalf("approving without an administrator's consent: %s, want %s", out, sandbox.OutcomeConsent)
		}
		waitState(t, tab, 20*time.Second, "dashboard")
		browsertest.Run(t, tab, 20*time.Second, "waiting for the consent sentence", chromedp.WaitVisible(browsertest.TestID("board-consent")))
		// Which permission, and that an administrator grants it (the
		// words for each case: TestABoardWithoutConsentSaysWhichPermissionAndWho).
		if got := textOf(t, tab, "board-consent"); !strings.Contains(got, "permission Place.Read.All") || !strings.Contains(got, "administrator") || strings.Contains(got, "refused") {
			t.Errorf("board-consent says %q, want the permission Place.Read.All and an administrator who must grant it (no one refused it)", got)
		}
		if tiles := tilesOf(t, tab); len(tiles) != 0 {
			t.Errorf("%d tiles beside the consent sentence", len(tiles))
		}

		f.PlaceConsentMissing = false
		sb.SetFaults(f)
		waitState(t, tab, 20*time.Second, "code")
		if out := sb.Approve(textOf(t, tab, "user-code"), "ada@placard.example"); out != sandbox.OutcomeApproved {
			t.Fatalf("approving once consented: %s", out)
		}
		browsertest.Run(t, tab, 20*time.Second, "waiting for the rooms", chromedp.WaitVisible(browsertest.TestID("board-tile")))
		if n := len(elementsIn(t, tab, "board-consent")); n != 0 {
			t.Errorf("the consent sentence stays beside the rooms")
		}
	})
}

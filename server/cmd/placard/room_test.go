package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/screens"
)

const lobby = "lobby@placard.example"

// roomPanel opens a 1280×800 tablet signed in as the Lobby Room, in the
// room layout and let act, on an edge server that reads calendars every
// second (the production period is the calendar's, not this test's).
func roomPanel(t *testing.T, name string) (*Main, context.Context) {
	t.Helper()
	m := testServer(t, inTheMorning, func(m *Main) {
		m.Config.QuickBook = true
		m.Config.Scopes = append(m.Config.Scopes, "Calendars.ReadWrite")
		tune := m.Tune
		m.Tune = func(c *screens.Config) {
			tune(c)
			c.PollEvery, c.CalendarEvery = time.Second, time.Second
		}
	})
	browser := browsertest.New(t)
	tablet := screenSizes[3]
	browsertest.Run(t, browser, 30*time.Second, "opening the room's tablet",
		emulate(tablet),
		chromedp.Navigate(m.URL+"/?screen="+url.QueryEscape(name)),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
	)
	id := screenID(t, m, name)
	if status, body := call(t, m, newToken(t, m), "PUT", "/admin/api/screens/"+id+"/settings",
		`{"actions":true,"layout":"room","clock24":true,"time_zone":"UTC"}`); status != http.StatusOK {
		t.Fatalf("making %s a room's panel: %d %v", name, status, body)
	}
	approveShown(t, browser, m, lobby)
	return m, browser
}

// roomStatus waits for the panel's status.
func roomStatus(t *testing.T, tab context.Context, within time.Duration, status string) {
	t.Helper()
	browsertest.Run(t, tab, within, "waiting for the room to be "+status,
		chromedp.WaitVisible(browsertest.TestID("room-status", `[data-status="`+status+`"]`)))
}

// roomAct presses an action's button, confirms, and returns the outcome
// the panel shows.
func roomAct(t *testing.T, tab context.Context, button, action string) string {
	t.Helper()
	var outcome string
	result := browsertest.TestID("room-result", `[data-action="`+action+`"]`)
	browsertest.Run(t, tab, 20*time.Second, "pressing "+button,
		chromedp.WaitVisible(button),
		chromedp.Click(button),
		chromedp.WaitVisible(browsertest.TestID("room-confirm")),
		chromedp.Click(browsertest.TestID("room-confirm")),
		chromedp.WaitVisible(result),
		chromedp.AttributeValue(result, "data-outcome", &outcome, nil),
	)
	return outcome
}

// The Lobby Room's door panel: free; a meeting Ada books in it from
// Outlook for 3 minutes from now shows as soon; checked in then ended,
// the room is free within 2 s and the organiser's copy shows the room's
// decline; Book now for 30 minutes makes it busy; Extend ends it 15
// minutes later. A light key of the room says free, soon and busy with it. Photographed upright and on its side, and checked by
// axe-core.
func TestARoomsPanelShowsItsStatusAndActsAsTheRoom(t *testing.T) {
	m, tab := roomPanel(t, "Lobby panel")
	roomStatus(t, tab, 20*time.Second, "free")
	// Free, and until its next meeting once the calendar is read: the
	// panel says free before that too.
	browsertest.Run(t, tab, 10*time.Second, "waiting for the room's next meeting",
		chromedp.WaitVisible(browsertest.TestID("room-meeting")))
	if got := textOf(t, tab, "room-name"); got != "Lobby Room" {
		t.Errorf("room-name %q", got)
	}
	if got := textOf(t, tab, "room-until"); !strings.HasPrefix(got, "Free until ") {
		t.Errorf("room-until %q, want Free until the next meeting", got)
	}
	screenshots(t, tab, "room-free")
	// A light outside the door: the room's status, from its calendar.
	_, light := addLight(t, m, newToken(t, m), `{"name":"lobby-door","account":"`+lobby+`"}`)
	lightSays := func(status, color string) {
		t.Helper()
		awaitPresence(t, m, light, 5*time.Second, "the light "+status, func(p presenceAnswer) bool {
			return p.Availability == status && p.Color == color && p.SignedIn
		})
	}
	lightSays("free", "#92C353")

	// Ada books the room from Outlook, starting in 3 minutes.
	start := m.Now().Add(3 * time.Minute).Truncate(time.Second)
	body, _ := json.Marshal(map[string]any{
		"organizer": "ada@placard.example", "subject": "Quarterly numbers",
		"start": map[string]string{"dateTime": start.UTC().Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
		"end":   map[string]string{"dateTime": start.Add(30 * time.Minute).UTC().Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
	})
	res, err := httpClient(t).Post(m.URL+"/sandbox/api/users/"+lobby+"/events", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var booked struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(res.Body).Decode(&booked)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusCreated || booked.ID == "" {
		t.Fatalf("booking the lobby as Ada: %s %v %+v", res.Status, err, booked)
	}
	bookedAt := time.Now()
	roomStatus(t, tab, 15*time.Second, "soon")
	t.Logf("the meeting booked from Outlook showed as soon after %s", time.Since(bookedAt).Round(100*time.Millisecond))
	lightSays("soon", "#FCD116")
	var meetingID string
	browsertest.Run(t, tab, 5*time.Second, "reading the meeting shown",
		chromedp.AttributeValue(browsertest.TestID("room-meeting"), "data-id", &meetingID, nil))
	if meetingID != booked.ID {
		t.Errorf("room-meeting is %q, want the room's copy of Ada's meeting %q", meetingID, booked.ID)
	}
	if got := textOf(t, tab, "room-meeting"); !strings.Contains(got, "Ada Lovelace") {
		t.Errorf("room-meeting %q does not name its organiser", got)
	}
	screenshots(t, tab, "room-soon")
	checkAccessibility(t, tab, "room panel (soon)")

	if out := roomAct(t, tab, browsertest.TestID("room-checkin"), "checkin"); out != "ok" {
		t.Fatalf("check in: %s", out)
	}
	if got := textOf(t, tab, "room-meeting"); !strings.Contains(got, "Checked in") {
		t.Errorf("room-meeting after the check-in: %q", got)
	}
	ended := time.Now()
	if out := roomAct(t, tab, browsertest.TestID("room-end"), "end"); out != "ok" {
		t.Fatalf("end now: %s", out)
	}
	roomStatus(t, tab, 2*time.Second-time.Since(ended), "free")
	// The room declined Ada's meeting: it left the room's calendar, and
	// Ada's copy says the room declined.
	events, err := m.Sandbox.DayEvents(lobby, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.ID == booked.ID {
			t.Errorf("the room's calendar still holds the meeting ended: %+v", e)
		}
	}
	adas, err := m.Sandbox.DayEvents("ada@placard.example", start.In(time.UTC).Format("2006-01-02"))
	if err != nil {
		t.Fatal(err)
	}
	declined := false
	for _, e := range adas {
		if e.Subject == "Quarterly numbers" {
			declined = e.AttendeeResponse(lobby) == "declined"
		}
	}
	if !declined {
		t.Errorf("Ada's copy of the meeting does not show the room's decline: %+v", adas)
	}

	if out := roomAct(t, tab, browsertest.TestID("room-book", `[data-minutes="30"]`), "book"); out != "ok" {
		t.Fatalf("book now 30: %s", out)
	}
	roomStatus(t, tab, 2*time.Second, "busy")
	lightSays("busy", "#C4314B")
	until := textOf(t, tab, "room-until")
	bookedEnd, err := time.Parse("15:04", strings.TrimPrefix(until, "Busy until "))
	if err != nil {
		t.Fatalf("room-until %q: %v", until, err)
	}
	screenshots(t, tab, "room-busy")
	checkAccessibility(t, tab, "room panel (busy)")
	for _, size := range []screenSize{{"portrait 800×1280", 800, 1280, true}, screenSizes[3]} {
		checkRoomGeometry(t, tab, size)
	}

	if out := roomAct(t, tab, browsertest.TestID("room-extend"), "extend"); out != "ok" {
		t.Fatalf("extend: %s", out)
	}
	want := "Busy until " + bookedEnd.Add(15*time.Minute).Format("15:04")
	browsertest.Run(t, tab, 2*time.Second, "waiting for "+want,
		browsertest.Until(fmt.Sprintf(`document.querySelector('[data-testid="room-until"]').textContent === %q`, want)))
	// The room's own meeting was moved, not doubled: Graph has one
	// meeting of the panel's, 45 minutes long.
	token, err := m.Sandbox.AccessToken(lobby, "Calendars.Read")
	if err != nil {
		t.Fatal(err)
	}
	g := graph.New("", &http.Client{Transport: m.Sandbox.Transport()})
	now := m.Now()
	all, err := g.CalendarView(t.Context(), token, now.Add(-time.Hour), now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	for _, e := range all {
		if e.Subject == "Booked on Lobby panel" {
			s, _ := e.Start.Time()
			en, _ := e.End.Time()
			own = append(own, en.Sub(s).String())
		}
	}
	if len(own) != 1 || own[0] != "45m0s" {
		t.Errorf("the panel's meetings in the room's calendar: %v, want one of 45m0s", own)
	}
}

// screenshots saves the tab at 1280×800 and 800×1280 into
// $PLACARD_SCREENSHOTS, when set (make screenshots).
func screenshots(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PLACARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, size := range []screenSize{{"landscape", 1280, 800, true}, {"portrait", 800, 1280, true}} {
		var png []byte
		browsertest.Run(t, tab, 20*time.Second, "photographing "+name, emulate(size), chromedp.CaptureScreenshot(&png))
		small, err := paletted(png)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+size.name+".png"), small, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	browsertest.Run(t, tab, 20*time.Second, "back to landscape", emulate(screenSizes[3]))
}

// roomGeometry is what a panel's page reports of its geometry.
type roomGeometry struct {
	VW, VH float64
	// Word is the status word's height; Band the band's area.
	Word, Band float64
	// Inside: the band and every button are within the overscan margins.
	Inside bool
	// Small are the buttons smaller than 48 CSS px either way.
	Small []string
}

// checkRoomGeometry checks a panel at a size: the status word at least 8%
// of the viewport's height, the band over at least a third of the
// viewport, within the margins, and every button at least 48 CSS px.
func checkRoomGeometry(t *testing.T, tab context.Context, size screenSize) {
	t.Helper()
	var g roomGeometry
	browsertest.Run(t, tab, 10*time.Second, "measuring the panel at "+size.name, emulate(size),
		browsertest.Until(fmt.Sprintf(`innerWidth === %d`, size.w)),
		chromedp.Evaluate(`(() => {
  const band = document.querySelector('[data-testid="room-status"]').getBoundingClientRect();
  const word = document.querySelector('.room-status-word').getBoundingClientRect();
  const mx = innerWidth * 0.05, my = innerHeight * 0.05;
  const inside = r => r.left >= mx && r.right <= innerWidth - mx && r.top >= my && r.bottom <= innerHeight - my;
  const buttons = [...document.querySelectorAll('.room-view button')];
  return {VW: innerWidth, VH: innerHeight, Word: word.height, Band: band.width * band.height,
    Inside: inside(band) && buttons.every(b => inside(b.getBoundingClientRect())),
    Small: buttons.filter(b => { const r = b.getBoundingClientRect(); return r.width < 48 || r.height < 48; }).map(b => b.textContent)};
})()`, &g))
	if g.Word < 0.08*g.VH {
		t.Errorf("at %s the status word is %.0f px high, under 8%% of %.0f", size.name, g.Word, g.VH)
	}
	if g.Band < g.VW*g.VH/3 {
		t.Errorf("at %s the band covers %.0f%% of the screen", size.name, 100*g.Band/(g.VW*g.VH))
	}
	if !g.Inside {
		t.Errorf("at %s the band or a button reaches into the overscan margins", size.name)
	}
	if len(g.Small) > 0 {
		t.Errorf("at %s buttons under 48 CSS px: %q", size.name, g.Small)
	}
}

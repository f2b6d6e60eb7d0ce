package ui

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// board is a signed-in state whose layout is a board, as the server sends
// it.
func board(sc wire.Screen, b wire.Board) wire.State {
	if sc.Name == "" {
		sc.Name = "Lobby board"
	}
	if sc.TimeZone == "" {
		sc.TimeZone = "UTC"
	}
	sc.Layout = b.Kind
	b.Fresh = testNow.Add(-time.Minute)
	return wire.State{Phase: wire.PhaseDashboard, Now: testNow, Screen: sc, Board: &b}
}

// renderAt is the screen's HTML for a state at a time, as the prerender
// writes it: the state goes through the screen's own setState, as every
// state does.
func renderBoardAt(st wire.State, now time.Time) string {
	s := &Screen{link: linkOpen}
	s.setState(st)
	s.now, s.skew = now, 0
	return app.HTMLString(s)
}

func slot(subject, start, end string) *wire.Slot {
	return &wire.Slot{Subject: subject, Start: at(start), End: at(end)}
}

// floorRooms are six rooms of a floor at 10:40, as the server orders them
// (free, soon, busy; by name).
func floorRooms() []wire.Tile {
	private := slot("Layoffs", "10:30", "11:00")
	private.Private = true
	return []wire.Tile{
		{Name: "Ada", UPN: "ada.room@placard.example", Status: wire.RoomFree, Capacity: 8, Floor: "2"},
		{Name: "Babbage", UPN: "babbage@placard.example", Status: wire.RoomFree, Until: at("14:30"), Next: slot("Design review", "14:30", "15:30"), Capacity: 12, Floor: "2"},
		{Name: "Curie", UPN: "curie@placard.example", Status: wire.RoomSoon, Until: at("10:50"), Next: slot("", "10:50", "11:20"), Capacity: 4, Floor: "Mezzanine"},
		{Name: "Darwin", UPN: "darwin@placard.example", Status: wire.RoomBusy, Until: at("11:00"), Current: private, Next: slot("Budget", "13:00", "14:00"), Capacity: 1, Floor: "3"},
		{Name: "Euler", UPN: "euler@placard.example", Status: wire.RoomBusy, Until: at("12:00"), Current: slot("Offsite planning", "10:00", "12:00"), Capacity: 20, Floor: "3"},
	}
}

// tileWords are each shown tile's words, by its data-name.
func tileWords(html string) map[string]string {
	out := map[string]string{}
	tags := elements(html, "board-tile")
	for i, words := range textsOf(html, "board-tile") {
		if strings.Contains(tags[i], "off-page") {
			continue
		}
		out[attr(tags[i], "data-name")] = words
	}
	return out
}

func attr(tag, name string) string {
	m := regexp.MustCompile(` ` + name + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestARoomsBoardSaysEachRoomsStateNextMeetingAndSeats(t *testing.T) {
	html := renderBoardAt(board(wire.Screen{Clock24: true}, wire.Board{Kind: wire.BoardRooms, Title: "Floor 2 and 3", Tiles: floorRooms()}), testNow)
	screen := elements(html, "screen")
	if len(screen) != 1 || attr(screen[0], "data-state") != "dashboard" || attr(screen[0], "data-layout") != "rooms" {
		t.Fatalf("screen %q, want data-state dashboard and data-layout rooms", screen)
	}
	boards := elements(html, "board")
	if len(boards) != 1 || attr(boards[0], "data-kind") != "rooms" {
		t.Fatalf("board %q, want one of kind rooms", boards)
	}
	tags := elements(html, "board-tile")
	var order, statuses []string
	for _, tag := range tags {
		order = append(order, attr(tag, "data-name"))
		statuses = append(statuses, attr(tag, "data-status"))
	}
	if got := strings.Join(order, ","); got != "Ada,Babbage,Curie,Darwin,Euler" {
		t.Errorf("rooms in the order %s, want free first, then by name", got)
	}
	if got := strings.Join(statuses, ","); got != "free,free,soon,busy,busy" {
		t.Errorf("statuses %s", got)
	}
	if upn := attr(tags[0], "data-upn"); upn != "ada.room@placard.example" {
		t.Errorf("data-upn %q", upn)
	}
	want := map[string]string{
		"Ada":     "Ada Free 8 seats · Floor 2",
		"Babbage": "Babbage Free until 14:30 Next 14:30 · Design review 12 seats · Floor 2",
		"Curie":   "Curie Free until 10:50 Next 10:50 4 seats · Mezzanine",
		"Darwin":  "Darwin Busy until 11:00 Next 13:00 · Budget 1 seat · Floor 3",
		"Euler":   "Euler Busy until 12:00 20 seats · Floor 3",
	}
	if got := tileWords(html); !mapsEqual(got, want) {
		t.Errorf("tiles say\n%s\nwant\n%s", show(got), show(want))
	}
	if strings.Contains(html, "Layoffs") {
		t.Errorf("a private meeting's subject is in the page")
	}
	if n := len(elements(html, "board-page")); n != 0 {
		t.Errorf("a board of one page shows %d page counters", n)
	}
}

// A busy room's next meeting that follows on within its "busy until" is
// not its next: the board would say "Busy until 10:30, next 10:00".
func TestABusyRoomsNextMeetingComesAfterItIsFree(t *testing.T) {
	rooms := []wire.Tile{{Name: "Atelier", UPN: "atelier@placard.example", Status: wire.RoomBusy, Until: at("11:30"),
		Current: slot("Standup", "10:30", "11:00"), Next: slot("Quarterly planning", "11:00", "11:30"), Capacity: 6}}
	got := tileWords(renderBoardAt(board(wire.Screen{Clock24: true}, wire.Board{Kind: wire.BoardRooms, Tiles: rooms}), testNow))
	if w := got["Atelier"]; w != "Atelier Busy until 11:30 6 seats" {
		t.Errorf("Atelier says %q", w)
	}
}

// A room whose free/busy Graph could not read says so, comes last, and
// does not turn with the clock.
func TestARoomOfUnknownStateSaysSoLast(t *testing.T) {
	rooms := append(floorRooms()[:3], wire.Tile{Name: "Archive", UPN: "archive@placard.example", Status: wire.RoomUnknown, Capacity: 2})
	st := board(wire.Screen{Clock24: true}, wire.Board{Kind: wire.BoardRooms, Tiles: rooms})
	for _, now := range []time.Time{testNow, at("16:00")} {
		html := renderBoardAt(st, now)
		tags := elements(html, "board-tile")
		last := tags[len(tags)-1]
		if attr(last, "data-name") != "Archive" || attr(last, "data-status") != "unknown" {
			t.Errorf("at %s the last tile is %s", now.Format("15:04"), last)
		}
		if w := tileWords(html)["Archive"]; w != "Archive Status unknown 2 seats" {
			t.Errorf("Archive says %q", w)
		}
	}
}

// A room's state turns at the minute its meeting ends or starts, before
// the server polls again; the order follows.
func TestARoomsStateTurnsWithTheClock(t *testing.T) {
	st := board(wire.Screen{Clock24: true}, wire.Board{Kind: wire.BoardRooms, Tiles: floorRooms()})
	got := tileWords(renderBoardAt(st, at("11:05")))
	if w := got["Darwin"]; !strings.HasPrefix(w, "Darwin Free until 13:00 Next 13:00 · Budget") {
		t.Errorf("at 11:05 Darwin says %q, want free until its next meeting", w)
	}
	if w := got["Curie"]; !strings.HasPrefix(w, "Curie Busy until 11:20") {
		t.Errorf("at 11:05 Curie says %q, want busy with the meeting that began", w)
	}
	var order []string
	for _, tag := range elements(renderBoardAt(st, at("11:05")), "board-tile") {
		order = append(order, attr(tag, "data-name")+"="+attr(tag, "data-status"))
	}
	if got := strings.Join(order, ","); got != "Ada=free,Babbage=free,Darwin=free,Curie=busy,Euler=busy" {
		t.Errorf("at 11:05: %s", got)
	}
	if w := tileWords(renderBoardAt(st, at("14:20")))["Babbage"]; !strings.HasPrefix(w, "Babbage Free until 14:30") {
		t.Errorf("ten minutes before its meeting Babbage says %q", w)
	}
	for _, tag := range elements(renderBoardAt(st, at("14:20")), "board-tile") {
		if attr(tag, "data-name") == "Babbage" && attr(tag, "data-status") != "soon" {
			t.Errorf("ten minutes before its meeting Babbage is %s, want soon", attr(tag, "data-status"))
		}
	}
}

func TestARoomsBoardSpeaksTheScreensLanguageZoneAndClock(t *testing.T) {
	rooms := floorRooms()
	cases := []struct {
		name   string
		screen wire.Screen
		words  map[string]string
	}{
		{"12-hour New York", wire.Screen{TimeZone: "America/New_York"}, map[string]string{
			"Babbage": "Babbage Free until 9:30 AM Next 9:30 AM · Design review 12 seats · Floor 2",
			"Darwin":  "Darwin Busy until 6:00 AM Next 8:00 AM · Budget 1 seat · Floor 3",
		}},
		{"French in Paris", wire.Screen{TimeZone: "Europe/Paris", Lang: "fr"}, map[string]string{
			"Babbage": "Babbage Libre jusqu’à 15:30 Ensuite 15:30 · Design review 12 places · Étage 2",
			"Darwin":  "Darwin Occupée jusqu’à 12:00 Ensuite 14:00 · Budget 1 place · Étage 3",
			"Curie":   "Curie Libre jusqu’à 11:50 Ensuite 11:50 4 places · Mezzanine",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := tileWords(renderBoardAt(board(c.screen, wire.Board{Kind: wire.BoardRooms, Tiles: rooms}), testNow))
			for name, want := range c.words {
				if got[name] != want {
					t.Errorf("%s says %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

// A private meeting's subject is never on a screen, whatever the server
// sent: not in the page, nor in the snapshot the Wasm starts from; on a
// screen in privacy mode no subject is.
func TestNoPrivateSubjectReachesTheBoardsPage(t *testing.T) {
	rooms := floorRooms()
	secret := slot("Acquisition of Initech", "13:00", "14:00")
	secret.Private = true
	rooms[3].Next = secret
	html := renderBoardAt(board(wire.Screen{Clock24: true}, wire.Board{Kind: wire.BoardRooms, Tiles: rooms}), testNow)
	for _, s := range []string{"Layoffs", "Acquisition", "Initech"} {
		if strings.Contains(html, s) {
			t.Errorf("the page carries %q", s)
		}
	}
	if !strings.Contains(html, "data-snapshot=") {
		t.Fatal("the page has no snapshot")
	}
	if w := tileWords(html)["Darwin"]; !strings.Contains(w, "Next 13:00 · Private") {
		t.Errorf("Darwin says %q, want its next meeting called Private", w)
	}

	html = renderBoardAt(board(wire.Screen{Clock24: true, Privacy: true}, wire.Board{Kind: wire.BoardRooms, Tiles: floorRooms()}), testNow)
	for _, s := range []string{"Design review", "Budget", "Offsite", "Layoffs"} {
		if strings.Contains(html, s) {
			t.Errorf("a screen in privacy mode carries %q", s)
		}
	}
	if w := tileWords(html)["Babbage"]; !strings.Contains(w, "Next 14:30 12 seats") {
		t.Errorf("in privacy mode Babbage says %q, want the time of its next meeting only", w)
	}
}

// people is a team of n, by name, in every availability.
func people(n int) []wire.Tile {
	first := []string{"Ada", "Alan", "Barbara", "Claude", "Dennis", "Donald", "Edsger", "Frances", "Grace", "Hedy", "John", "Katherine", "Ken", "Leslie", "Linus", "Margaret"}
	last := []string{"Lovelace", "Turing", "Liskov", "Shannon", "Ritchie", "Knuth", "Dijkstra", "Allen", "Hopper", "Lamarr", "Backus", "Johnson", "Thompson", "Lamport", "Torvalds", "Hamilton"}
	presence := [][2]string{{"Available", "Available"}, {"Busy", "InACall"}, {"Busy", "InAMeeting"}, {"DoNotDisturb", "Presenting"}, {"Away", "Away"}, {"BeRightBack", "BeRightBack"}, {"Offline", "OffWork"}, {"", ""}}
	out := make([]wire.Tile, n)
	for i := range out {
		f, l := first[i%len(first)], last[(i/len(first)+i)%len(last)]
		p := presence[i%len(presence)]
		out[i] = wire.Tile{Name: fmt.Sprintf("%s %s", f, l), UPN: fmt.Sprintf("%s.%s%d@placard.example", strings.ToLower(f), strings.ToLower(l), i), Status: p[0], Activity: p[1], Initials: f[:1] + l[:1]}
		if p[0] == "Busy" || p[0] == "DoNotDisturb" {
			out[i].FreeAt = at("11:30").Add(time.Duration(i) * 5 * time.Minute)
		}
	}
	slices.SortFunc(out, func(a, b wire.Tile) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func TestAPeopleBoardShowsEachPersonsPresenceAndWhenTheyAreFree(t *testing.T) {
	team := people(4)
	team[0].Photo = wire.PhotoPath + "scr1/abc123"
	html := renderBoardAt(board(wire.Screen{Clock24: true}, wire.Board{Kind: wire.BoardPeople, Title: "Team", Tiles: team}), testNow)
	boards := elements(html, "board")
	if len(boards) != 1 || attr(boards[0], "data-kind") != "people" {
		t.Fatalf("board %q", boards)
	}
	want := map[string]string{
		"Ada Lovelace":   "Ada Lovelace Available",
		"Alan Turing":    "AT Alan Turing Busy · In a call Free at 11:35",
		"Barbara Liskov": "BL Barbara Liskov Busy · In a meeting Free at 11:40",
		"Claude Shannon": "CS Claude Shannon Do not disturb · Presenting Free at 11:45",
	}
	if got := tileWords(html); !mapsEqual(got, want) {
		t.Errorf("tiles say\n%s\nwant\n%s", show(got), show(want))
	}
	statuses := map[string]string{}
	for _, tag := range elements(html, "board-tile") {
		statuses[attr(tag, "data-name")] = attr(tag, "data-status")
	}
	if statuses["Alan Turing"] != "Busy" || statuses["Claude Shannon"] != "DoNotDisturb" || statuses["Ada Lovelace"] != "Available" {
		t.Errorf("statuses %v, want Graph's availability", statuses)
	}
	if !strings.Contains(html, `src="/photo/scr1/abc123"`) {
		t.Errorf("Ada's photo is not shown")
	}

	fr := tileWords(renderBoardAt(board(wire.Screen{TimeZone: "Europe/Paris", Lang: "fr"}, wire.Board{Kind: wire.BoardPeople, Tiles: team}), testNow))
	if w := fr["Alan Turing"]; w != "AT Alan Turing Occupé · En appel Libre à 12:35" {
		t.Errorf("in French Alan says %q", w)
	}
	// A person whose presence could not be read.
	unknown := renderBoardAt(board(wire.Screen{}, wire.Board{Kind: wire.BoardPeople, Tiles: []wire.Tile{{Name: "Nobody Known", UPN: "x@placard.example"}}}), testNow)
	if tags := elements(unknown, "board-tile"); len(tags) != 1 || attr(tags[0], "data-status") != "PresenceUnknown" {
		t.Errorf("a tile without presence: %q", tags)
	}
}

// Paging: a board of more tiles than a page holds turns its page every
// 10 s, says which it shows, and shows every tile on some page.
func TestABoardPagesThroughAllItsTiles(t *testing.T) {
	var rooms []wire.Tile
	for i := range 40 {
		rooms = append(rooms, wire.Tile{Name: fmt.Sprintf("Room %02d", i+1), UPN: fmt.Sprintf("room%02d@placard.example", i+1), Status: wire.RoomFree, Capacity: 6})
	}
	for _, c := range []struct {
		kind  string
		tiles []wire.Tile
		pages int
	}{
		{wire.BoardRooms, rooms, 8},
		{wire.BoardPeople, people(60), 10},
		{wire.BoardPeople, people(12), 2},
		{wire.BoardPeople, people(6), 1},
	} {
		t.Run(fmt.Sprintf("%d %s", len(c.tiles), c.kind), func(t *testing.T) {
			st := board(wire.Screen{Clock24: true}, wire.Board{Kind: c.kind, Tiles: c.tiles})
			seen := map[string]int{}
			pagesSeen := map[string]bool{}
			first := ""
			start := time.Date(2026, 11, 23, 10, 40, 0, 0, time.UTC)
			for i := range c.pages + 1 {
				html := renderBoardAt(st, start.Add(time.Duration(i)*BoardPageEvery))
				if n := len(elements(html, "board-tile")); n != len(c.tiles) {
					t.Errorf("%d tiles in the page, want all %d", n, len(c.tiles))
				}
				shown := tileWords(html)
				if len(shown) > perPage(c.kind) {
					t.Errorf("page %d shows %d tiles, more than %d", i, len(shown), perPage(c.kind))
				}
				counter := elements(html, "board-page")
				if c.pages == 1 {
					if len(counter) != 0 {
						t.Errorf("a board of one page shows a page counter")
					}
				} else {
					if len(counter) != 1 || attr(counter[0], "data-pages") != fmt.Sprint(c.pages) {
						t.Fatalf("page counter %q, want %d pages", counter, c.pages)
					}
					page := attr(counter[0], "data-page")
					switch {
					case i == 0:
						first = page
						pagesSeen[page] = true
					case i < c.pages:
						pagesSeen[page] = true
					case page != first:
						t.Errorf("after its last page the board shows page %s, want %s again", page, first)
					}
					if got := textsOf(html, "board-page"); len(got) != 1 || got[0] != page+" / "+fmt.Sprint(c.pages) {
						t.Errorf("page counter says %q", got)
					}
					for _, tag := range elements(html, "board-tile") {
						if on := attr(tag, "data-page") == page; on == strings.Contains(tag, "off-page") {
							t.Errorf("page %s: tile %s of page %s hidden=%v", page, attr(tag, "data-name"), attr(tag, "data-page"), !on)
						}
					}
				}
				if i < c.pages {
					for name := range shown {
						seen[name]++
					}
				}
			}
			for _, tl := range c.tiles {
				if seen[tl.Name] != 1 {
					t.Errorf("%s shown on %d pages, want 1", tl.Name, seen[tl.Name])
				}
			}
			if c.pages > 1 && len(pagesSeen) != c.pages {
				t.Errorf("pages shown %v, want each of %d once", pagesSeen, c.pages)
			}
		})
	}
	// Within a period the page stays.
	st := board(wire.Screen{}, wire.Board{Kind: wire.BoardRooms, Tiles: rooms})
	a, b := renderBoardAt(st, testNow), renderBoardAt(st, testNow.Add(BoardPageEvery-time.Second))
	if attr(elements(a, "board-page")[0], "data-page") != attr(elements(b, "board-page")[0], "data-page") {
		t.Errorf("the page turned within %s", BoardPageEvery)
	}
}

// A board the account may not read says which permission is missing and
// who can grant it, in the screen's language, and shows no tiles.
func TestABoardWithoutConsentSaysWhichPermissionAndWho(t *testing.T) {
	cases := []struct {
		name    string
		lang    string
		consent wire.Consent
		want    string
	}{
		{"admin", "en", wire.Consent{Permissions: []string{"Place.Read.All"}, By: wire.ConsentAdmin},
			"This board needs the permission Place.Read.All, which an administrator of your organisation must grant."},
		{"user", "en", wire.Consent{Permissions: []string{"Presence.Read.All", "Calendars.ReadBasic"}, By: wire.ConsentUser},
			"This board needs the permissions Presence.Read.All and Calendars.ReadBasic: sign in to this screen again and accept them."},
		{"refused", "en", wire.Consent{Permissions: []string{"Place.Read.All"}, By: wire.ConsentAdmin, Refused: true},
			"Your organisation refused the permission Place.Read.All that this board needs. An administrator of your organisation can grant it."},
		{"French", "fr", wire.Consent{Permissions: []string{"Place.Read.All"}, By: wire.ConsentAdmin},
			"Ce tableau a besoin de l’autorisation Place.Read.All, qu’un administrateur de votre organisation doit accorder."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			html := renderBoardAt(board(wire.Screen{Lang: c.lang}, wire.Board{Kind: wire.BoardRooms, Consent: &c.consent}), testNow)
			if got := textsOf(html, "board-consent"); len(got) != 1 || got[0] != c.want {
				t.Errorf("board-consent %q, want %q", got, c.want)
			}
			if n := len(elements(html, "board-tile")); n != 0 {
				t.Errorf("%d tiles beside the consent sentence", n)
			}
		})
	}
	// Consent wins over tiles the server would still send.
	html := renderBoardAt(board(wire.Screen{}, wire.Board{Kind: wire.BoardPeople, Tiles: people(3), Consent: &wire.Consent{Permissions: []string{"Presence.Read.All"}, By: wire.ConsentAdmin}}), testNow)
	if len(elements(html, "board-consent")) != 1 || len(elements(html, "board-tile")) != 0 {
		t.Errorf("a board without consent shows tiles")
	}
	// Nothing to show is said, not left blank.
	empty := renderBoardAt(board(wire.Screen{}, wire.Board{Kind: wire.BoardRooms}), testNow)
	if !strings.Contains(empty, "No rooms to show") {
		t.Errorf("an empty rooms board says nothing")
	}
}

func TestABoardsNamesCannotBreakOutOfTheirAttributes(t *testing.T) {
	html := renderBoardAt(board(wire.Screen{}, wire.Board{Kind: wire.BoardPeople, Tiles: []wire.Tile{
		{Name: `Eve "<script>" O'Neil & Co`, UPN: `eve"><b>@x`, Status: `Busy"><i>`},
	}}), testNow)
	if strings.Contains(html, "<script>") || strings.Contains(html, "<b>") || strings.Contains(html, "<i>") {
		t.Errorf("outside content became HTML:\n%s", html)
	}
	tag := elements(html, "board-tile")[0]
	if attr(tag, "data-name") != "Eve script ONeil  Co" || attr(tag, "data-status") != "Busyi" {
		t.Errorf("tile %s", tag)
	}
}

// An asleep board shows the dim clock only.
func TestAnAsleepBoardShowsOnlyAClock(t *testing.T) {
	html := renderBoardAt(board(wire.Screen{Asleep: true, Clock24: true}, wire.Board{Kind: wire.BoardPeople, Tiles: people(3)}), testNow)
	if len(elements(html, "board-tile")) != 0 || len(elements(html, "board")) != 0 {
		t.Errorf("an asleep screen shows its board")
	}
	if got := textsOf(html, "clock"); len(got) != 1 || got[0] != "10:40" {
		t.Errorf("clock %q", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func show(m map[string]string) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, k+": "+v)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// A board Graph could not read for a while says as of when, in its
// language; a fresh one says nothing of it.
func TestAStaleBoardSaysAsOfWhen(t *testing.T) {
	st := board(wire.Screen{Clock24: true}, wire.Board{Kind: wire.BoardPeople, Tiles: people(3)})
	if n := len(elements(renderBoardAt(st, testNow), "freshness")); n != 0 {
		t.Errorf("a fresh board shows %d freshness notes", n)
	}
	st.Board.Stale = true
	if got := textsOf(renderBoardAt(st, testNow), "freshness"); len(got) != 1 || got[0] != "As of 10:39" {
		t.Errorf("a stale board says %q", got)
	}
	st.Screen.Lang = "fr"
	if got := textsOf(renderBoardAt(st, testNow), "freshness"); len(got) != 1 || got[0] != "Données de 10:39" {
		t.Errorf("a stale French board says %q", got)
	}
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/placard/placard/app/ui"
	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/httpd"
	"github.com/placard/placard/server/internal/browsertest"
)

// boardSizes are the screens a board is made for: the TVs of a lobby or a
// team area, and a portrait panel.
var boardSizes = []screenSize{
	{name: "1080p", w: 1920, h: 1080},
	{name: "4k", w: 3840, h: 2160},
	{name: "720p", w: 1280, h: 720},
	{name: "portrait", w: 1080, h: 1920},
}

// boardAt is the time of the boards' fixtures: Monday 23 November 2026,
// 10:40 in London.
var boardAt = time.Date(2026, 11, 23, 10, 40, 0, 0, time.UTC)

func boardTime(hm string) time.Time {
	h, _ := strconv.Atoi(hm[:2])
	m, _ := strconv.Atoi(hm[3:])
	return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC)
}

// boardFixture is a board's state as a screen is sent it, lang its
// language.
func boardFixture(b wire.Board, lang string) wire.State {
	b.Fresh = boardAt.Add(-time.Minute)
	return wire.State{Phase: wire.PhaseDashboard, Now: boardAt, Board: &b,
		Screen: wire.Screen{Name: "Lobby board", TimeZone: "Europe/London", Clock24: true, Lang: lang, Layout: b.Kind}}
}

// teamBoard is a team of n people, by name, in every availability a team
// has on a weekday morning; the names are real lengths (up to 17
// letters).
func teamBoard(n int) wire.Board {
	first := []string{"Ada", "Alan", "Barbara", "Claude", "Dennis", "Donald", "Edsger", "Frances", "Grace", "Hedy", "John", "Katherine", "Ken", "Leslie", "Linus", "Margaret", "Niklaus", "Radia", "Sophie", "Tim"}
	last := []string{"Lovelace", "Turing", "Liskov", "Shannon", "Ritchie", "Knuth", "Dijkstra", "Allen", "Hopper", "Lamarr", "Backus", "Johnson", "Thompson", "Lamport", "Torvalds", "Hamilton", "Wirth", "Perlman", "Wilson", "Berners-Lee"}
	presence := [][2]string{{"Available", "Available"}, {"Busy", "InACall"}, {"Busy", "InAMeeting"}, {"Available", "Available"}, {"DoNotDisturb", "Presenting"}, {"Away", "Away"}, {"BeRightBack", "BeRightBack"}, {"Offline", "OffWork"}, {"Busy", "InAConferenceCall"}}
	b := wire.Board{Kind: wire.BoardPeople, Title: "Team"}
	seen := map[string]bool{}
	for i := 0; len(b.Tiles) < n; i++ {
		f, l := first[i%len(first)], last[(i+i/len(first))%len(last)]
		name := f + " " + l
		if seen[name] {
			continue
		}
		seen[name] = true
		p := presence[len(b.Tiles)%len(presence)]
		t := wire.Tile{Name: name, UPN: fmt.Sprintf("%s.%s@placard.example", strings.ToLower(f), strings.ToLower(l)),
			Status: p[0], Activity: p[1], Initials: f[:1] + l[:1]}
		if p[0] == "Busy" || p[0] == "DoNotDisturb" {
			t.FreeAt = boardTime("11:00").Add(time.Duration(len(b.Tiles)%5) * 15 * time.Minute)
		}
		b.Tiles = append(b.Tiles, t)
	}
	sortTiles(b.Tiles)
	return b
}

// roomsBoard is n rooms of a building's floors, free first, by name.
func roomsBoard(n int) wire.Board {
	names := []string{"Ada", "Room 4.1 Babbage", "Curie", "Darwin", "Euler", "Faraday", "Galileo", "Hypatia", "Input/Output", "Jupiter", "Kepler", "Lagrange", "Room 5.2 Meitner", "Noether", "Ørsted", "Pascal", "Quantum Lab", "Ramanujan", "Somerville", "Tesla"}
	floors := []string{"Ground floor", "1", "2nd floor", "Mezzanine", "5th floor"}
	subjects := []string{"Design review", "Weekly planning", "Customer call: Initech", "Interviews", "1:1", "Quarterly business review with the board"}
	b := wire.Board{Kind: wire.BoardRooms, Title: "Rooms, floors 1 to 4"}
	for i := range n {
		name := names[i%len(names)]
		if i >= len(names) {
			name += " " + strconv.Itoa(i/len(names)+1)
		}
		t := wire.Tile{Name: name, UPN: fmt.Sprintf("room%02d@placard.example", i+1), Capacity: []int{4, 6, 8, 12, 20, 1}[i%6], Floor: floors[i%len(floors)]}
		next := &wire.Slot{Start: boardTime("14:30"), End: boardTime("15:30"), Subject: subjects[i%len(subjects)]}
		switch i % 4 {
		case 0:
			t.Status = wire.RoomFree
		case 1:
			t.Status, t.Until, t.Next = wire.RoomFree, next.Start, next
		case 2:
			next = &wire.Slot{Start: boardTime("10:50"), End: boardTime("11:30"), Subject: subjects[(i+1)%len(subjects)]}
			t.Status, t.Until, t.Next = wire.RoomSoon, next.Start, next
		case 3:
			t.Status, t.Until = wire.RoomBusy, boardTime("11:30")
			// Private: the server drops its subject; were it sent, the
			// screen would drop it too (TestBoardsFitEveryScreenSize
			// looks for it in the page).
			t.Current = &wire.Slot{Start: boardTime("10:00"), End: boardTime("11:30"), Private: true, Subject: "Reorganisation of " + name}
			t.Next = next
			if i%8 == 7 {
				next.Private, next.Subject = true, ""
			}
		}
		b.Tiles = append(b.Tiles, t)
	}
	sortTiles(b.Tiles)
	return b
}

// sortTiles orders tiles as the server does: rooms free, soon, busy, then
// by name; people by name.
func sortTiles(tiles []wire.Tile) {
	rank := map[string]int{wire.RoomFree: 0, wire.RoomSoon: 1, wire.RoomBusy: 2}
	for i := 1; i < len(tiles); i++ {
		for j := i; j > 0; j-- {
			a, b := tiles[j-1], tiles[j]
			if rank[a.Status] < rank[b.Status] || (rank[a.Status] == rank[b.Status] && strings.ToLower(a.Name) <= strings.ToLower(b.Name)) {
				break
			}
			tiles[j-1], tiles[j] = b, a
		}
	}
}

// previewRefresh is the reload a preview page asks for.
var previewRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="[0-9]+">`)

// boardPages serves boards' states as a screen's page, drawn by the
// server's prerender (the fallback's renderer, which the Wasm shares): GET
// /board?name=N&page=P is fixture N at the time of its page P; anything
// else is the edge server's (styles, fonts). Where no board source
// signs in to the sandbox, this is how a test shows a board of 60 people
// or 40 rooms.
type boardPages struct {
	URL      string
	fixtures map[string]wire.State
}

func serveBoards(t *testing.T, fixtures map[string]wire.State) *boardPages {
	t.Helper()
	var (
		mu sync.Mutex
		hs *httpd.Server
	)
	m := testServer(t, inTheMorning, func(m *Main) {
		m.TuneHTTP = func(h *httpd.Server) {
			mu.Lock()
			hs = h
			mu.Unlock()
		}
	})
	target, err := url.Parse(m.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/board" {
			proxy.ServeHTTP(w, r)
			return
		}
		st, ok := fixtures[r.URL.Query().Get("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		st.Now = st.Now.Add(time.Duration(page) * ui.BoardPageEvery)
		mu.Lock()
		h := hs
		mu.Unlock()
		body, err := h.Preview(r, st, time.Hour)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// A still page: the preview's own reload is not the screen's.
		body = previewRefresh.ReplaceAll(body, nil)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return &boardPages{URL: srv.URL, fixtures: fixtures}
}

// show opens fixture name at its page p in a tab of size.
func (b *boardPages) show(t *testing.T, tab context.Context, size screenSize, name string, p int) {
	t.Helper()
	browsertest.Run(t, tab, 20*time.Second, fmt.Sprintf("showing %s, page %d, at %s", name, p, size.name),
		emulate(size),
		chromedp.Navigate(b.URL+"/board?name="+url.QueryEscape(name)+"&page="+strconv.Itoa(p)),
		chromedp.WaitVisible(browsertest.TestID("board")),
		browsertest.Until(`document.fonts.status === "loaded"`),
	)
}

// boardLayout is what the page reports of a board.
type boardLayout struct {
	Page, Pages string
	Tiles       []struct {
		Name, Page string
		Shown      bool
	}
	// Texts are the board's visible texts that are smaller than Min px,
	// cut (an ellipsis), or outside the overscan margins.
	Small, Cut, Out []string
}

// boardJS measures every visible text of the board: its font size, whether
// it is cut, and whether it is inside the overscan margins (5% of each
// side, whatever the burn-in shift).
const boardJS = `((min) => {
  const out = {Page: "", Pages: "", Tiles: [], Small: [], Cut: [], Out: []};
  const counter = document.querySelector('[data-testid="board-page"]');
  if (counter) { out.Page = counter.dataset.page; out.Pages = counter.dataset.pages; }
  for (const el of document.querySelectorAll('[data-testid="board-tile"]')) {
    out.Tiles.push({Name: el.dataset.name, Page: el.dataset.page, Shown: el.getClientRects().length > 0});
  }
  const board = document.querySelector('[data-testid="board"]');
  const W = innerWidth, H = innerHeight, mx = 0.05 * W, my = 0.05 * H;
  const walk = document.createTreeWalker(board, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.data.trim()) continue;
    const el = n.parentElement;
    if (el.getClientRects().length === 0 || el.closest('[aria-hidden="true"]')) continue;
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.display === "none") continue;
    const what = (el.closest('[data-testid="board-tile"]') || {dataset: {}}).dataset.name + ": " + n.data.trim();
    if (parseFloat(s.fontSize) < min) out.Small.push(what + " (" + s.fontSize + ")");
    const r = document.createRange(); r.selectNodeContents(n);
    const b = r.getBoundingClientRect();
    // A meeting's subject, the organiser's words of any length, may give
    // way (an ellipsis); its tile is held to the margins as a whole.
    if (el.closest(".tile-subject")) continue;
    if (b.left < mx || b.top < my || b.right > W - mx || b.bottom > H - my) out.Out.push(what + " at " + [b.left, b.top, b.right, b.bottom].map(Math.round).join(","));
    // Cut: the text reaches past an ancestor that clips it (by more than
    // a glyph's overhang of its line).
    const tol = Math.max(1, 0.05 * parseFloat(s.fontSize));
    for (let a = el; a && a !== board.parentElement; a = a.parentElement) {
      if (getComputedStyle(a).overflowX === "visible") continue;
      const c = a.getBoundingClientRect();
      if (b.right > c.right + tol || b.left < c.left - tol || b.bottom > c.bottom + tol || b.top < c.top - tol) { out.Cut.push(what); break; }
    }
  }
  return out;
})`

// turnJS shows page %d of a board as the screen does when its clock turns
// the page: that page's tiles, and its number.
const turnJS = `((p) => {
  for (const el of document.querySelectorAll('[data-testid="board-tile"]')) el.classList.toggle("off-page", el.dataset.page !== String(p));
  const c = document.querySelector('[data-testid="board-page"]');
  c.dataset.page = String(p);
  c.textContent = p + " / " + c.dataset.pages;
  return true;
})(%d)`

// dimJS marks the screen as reconnecting, as web/static/fallback.js does
// when the server cannot be reached (the Wasm draws the same).
const dimJS = `(() => {
  const shown = document.querySelector('[data-testid="screen"]');
  shown.setAttribute("data-state", "reconnecting");
  shown.className += " dimmed";
  const banner = document.createElement("div");
  banner.className = "banner";
  banner.setAttribute("role", "status");
  banner.appendChild(document.createTextNode(decodeURIComponent(shown.getAttribute("data-reconnecting") || "")));
  shown.appendChild(banner);
  return true;
})()`

// TestBoardsFitEveryScreenSize holds boards of 12 and 60 people, 40 rooms
// and a missing consent to every screen they are made for: on every page
// every tile shown is inside the overscan margins, its text at or above
// the size read from 3 m and not cut, every tile is on some page, and
// axe-core finds no serious issue.
func TestBoardsFitEveryScreenSize(t *testing.T) {
	t.Parallel()
	fixtures := map[string]wire.State{
		"people-12": boardFixture(teamBoard(12), "en"),
		"people-60": boardFixture(teamBoard(60), "en"),
		"rooms-40":  boardFixture(roomsBoard(40), "en"),
		"rooms-fr":  boardFixture(roomsBoard(8), "fr"),
		"people-fr": boardFixture(teamBoard(9), "fr"),
		"consent": boardFixture(wire.Board{Kind: wire.BoardRooms, Consent: &wire.Consent{
			Permissions: []string{"Place.Read.All"}, By: wire.ConsentAdmin}}, "en"),
	}
	// A board Graph could not read for a while says since when.
	stale := fixtures["rooms-40"]
	b := *stale.Board
	b.Stale = true
	stale.Board = &b
	fixtures["rooms-stale"] = stale
	boards := serveBoards(t, fixtures)
	browser := browsertest.New(t)
	tab := browsertest.Tab(t, browser)
	for _, name := range []string{"people-12", "people-60", "rooms-40", "rooms-fr", "people-fr", "rooms-stale", "consent"} {
		t.Run(name, func(t *testing.T) {
			st := fixtures[name]
			pages := ui.BoardPages(st.Board)
			for _, size := range boardSizes {
				seen := map[string]int{}
				pagesSeen := map[string]bool{}
				// The first page as the server renders it; the next ones as
				// the screen turns to them when its clock says (the server's
				// pages: TestABoardPagesThroughAllItsTiles), without a page
				// load each.
				boards.show(t, tab, size, name, 0)
				first := 1
				browsertest.Run(t, tab, 5*time.Second, "reading the page shown", chromedp.Evaluate(
					`+(document.querySelector('[data-testid="board-page"]') || {dataset: {page: "1"}}).dataset.page`, &first))
				for i := range pages {
					p := (first-1+i)%pages + 1
					if i > 0 {
						browsertest.Run(t, tab, 5*time.Second, "turning the page", chromedp.Evaluate(fmt.Sprintf(turnJS, p), nil))
					}
					checkLayout(t, tab, "dashboard", size, boardHooks(st.Board, pages))
					min := minReadFont * float64(min(size.w, size.h))
					var l boardLayout
					browsertest.Run(t, tab, 10*time.Second, "measuring the board", chromedp.Evaluate(fmt.Sprintf("%s(%f)", boardJS, min-0.5), &l))
					for _, what := range l.Small {
						t.Errorf("%s, page %d: %s is under the %.1f px read from 3 m", size.name, p, what, min)
					}
					for _, what := range l.Cut {
						t.Errorf("%s, page %d: %s is cut", size.name, p, what)
					}
					for _, what := range l.Out {
						t.Errorf("%s, page %d: %s is within 5%% of an edge", size.name, p, what)
					}
					if pages > 1 {
						if l.Pages != strconv.Itoa(pages) {
							t.Errorf("%s: the board says %s pages, want %d", size.name, l.Pages, pages)
						}
						pagesSeen[l.Page] = true
					}
					if len(l.Tiles) != len(st.Board.Tiles) {
						t.Errorf("%s: %d tiles in the page, want %d", size.name, len(l.Tiles), len(st.Board.Tiles))
					}
					for _, tl := range l.Tiles {
						if tl.Shown {
							seen[tl.Name]++
							if pages > 1 && tl.Page != l.Page {
								t.Errorf("%s: %s of page %s shows on page %s", size.name, tl.Name, tl.Page, l.Page)
							}
						}
					}
				}
				if name != "consent" {
					// Reconnecting, as the Wasm (and the fallback's
					// script) shows it: the last data dimmed, and a
					// banner that covers none of it.
					browsertest.Run(t, tab, 5*time.Second, "dimming the board", chromedp.Evaluate(dimJS, nil))
					checkLayout(t, tab, "reconnecting", size, boardHooks(st.Board, pages))
				}
				for _, tl := range st.Board.Tiles {
					if seen[tl.Name] != 1 {
						t.Errorf("%s: %s shows on %d pages, want 1", size.name, tl.Name, seen[tl.Name])
					}
				}
				if pages > 1 && len(pagesSeen) != pages {
					t.Errorf("%s: pages %v shown, want all %d", size.name, pagesSeen, pages)
				}
			}
			// The page, its snapshot for the Wasm included, carries no
			// private meeting's subject.
			for p := range pages {
				_, html := get(t, http.DefaultClient, fmt.Sprintf("%s/board?name=%s&page=%d", boards.URL, name, p))
				if strings.Contains(html, "Reorganisation") {
					t.Errorf("page %d of %s carries a private meeting's subject", p+1, name)
				}
			}
			if name == "people-12" || name == "rooms-40" || name == "consent" {
				boards.show(t, tab, boardSizes[0], name, 0)
				t.Run("accessibility", func(t *testing.T) { checkAccessibility(t, tab, "board "+name) })
			}
		})
	}
}

// boardHooks are the hooks a board shows.
func boardHooks(b *wire.Board, pages int) []string {
	hooks := []string{"board", "clock"}
	switch {
	case b.Consent != nil:
		hooks = append(hooks, "board-consent")
	default:
		hooks = append(hooks, "board-tile")
	}
	if pages > 1 {
		hooks = append(hooks, "board-page")
	}
	return hooks
}

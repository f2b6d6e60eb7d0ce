package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/placard/placard/app/wire"
)

// A board's tiles are read from 3 m like a dashboard's status (placard.css,
// --read): at that size a page holds this many, in every shape of screen
// placard is made for. A TV gives each room two lines the width of the
// screen (its name and state; its next meeting, seats and floor, whose
// labels run to "Ground floor"), and each person three lines in two
// columns (name; availability and activity, as long as "Busy · In a
// conference call"; when they are free); a portrait panel gives a room
// four lines and puts the people in one column. The numbers do not depend
// on the screen's shape, so that the server's prerender (which does not
// know it) pages as the Wasm does. TestBoardsFitEveryScreenSize holds them
// to the screen.
const (
	roomsPerPage  = 5
	peoplePerPage = 6
)

// BoardPageEvery is how long a board shows each page. The page shown
// follows the (server's) clock, so that the Wasm, the prerender and the
// fallback's reloads agree, and so do two screens side by side.
const BoardPageEvery = 10 * time.Second

// perPage is how many tiles a page of a board of kind holds.
func perPage(kind string) int {
	if kind == wire.BoardRooms {
		return roomsPerPage
	}
	return peoplePerPage
}

// BoardPages is how many pages a board takes: 1 for a board that fits, or
// that shows its consent sentence.
func BoardPages(b *wire.Board) int {
	if b == nil || b.Consent != nil || len(b.Tiles) == 0 {
		return 1
	}
	n := perPage(b.Kind)
	return (len(b.Tiles) + n - 1) / n
}

// boardPage is the page (from 0) a board of pages pages shows at now.
func boardPage(now time.Time, pages int) int {
	if pages <= 1 {
		return 0
	}
	return int(now.Unix() / int64(BoardPageEvery/time.Second) % int64(pages))
}

// boardView is a signed-in screen whose layout is a board: a floor's rooms
// or a team's presence, a tile each, a page at a time; or, when the
// account may not read them, the sentence that says which permission is
// missing and who can grant it. Never an empty board.
func boardView(st wire.State, tx *texts, now time.Time) app.UI {
	b := st.Board
	if st.Screen.Asleep {
		return asleepView(st, now)
	}
	kind := b.Kind
	if kind != wire.BoardRooms {
		kind = wire.BoardPeople
	}
	title := b.Title
	if title == "" {
		title = tx.boardTitle[kind]
	}
	pages := BoardPages(b)
	page := boardPage(now, pages)

	var body app.UI
	switch {
	case b.Consent != nil:
		body = app.P().Class("board-consent").DataSet("testid", "board-consent").Text(consentSentence(*b.Consent, tx))
	case len(b.Tiles) == 0:
		body = app.P().Class("board-empty").Text(tx.boardEmpty[kind])
	case kind == wire.BoardRooms:
		body = roomTiles(b.Tiles, st.Screen, tx, now, page)
	default:
		body = personTiles(b.Tiles, st.Screen, tx, page)
	}
	return app.Div().Class("board-view", "board-"+kind).
		DataSet("testid", "board").
		DataSet("kind", kind).
		Body(
			app.Header().Class("board-top").Body(
				app.H1().Class("board-title").Text(title),
				app.If(b.Stale && !b.Fresh.IsZero(), func() app.UI {
					return app.Span().Class("freshness", "stale").DataSet("testid", "freshness").DataSet("stale", "true").
						Text(fmt.Sprintf(tx.boardStale, clock(b.Fresh, st.Screen)))
				}),
				app.If(pages > 1, func() app.UI {
					return app.Span().Class("board-page").
						DataSet("testid", "board-page").
						DataSet("page", strconv.Itoa(page+1)).
						DataSet("pages", strconv.Itoa(pages)).
						Aria("label", fmt.Sprintf(tx.pageOf, page+1, pages)).
						Text(fmt.Sprintf("%d / %d", page+1, pages))
				}),
				app.Span().Class("clock", "board-clock").DataSet("testid", "clock").Text(clock(now, st.Screen)),
			),
			body,
		)
}

// roomTiles are a rooms board: free rooms first (free, then soon, then
// busy), each by name.
func roomTiles(tiles []wire.Tile, sc wire.Screen, tx *texts, now time.Time, page int) app.UI {
	type shown struct {
		wire.Tile
		status string
		until  time.Time
	}
	rooms := make([]shown, len(tiles))
	for i, t := range tiles {
		status, until := roomAt(t, now)
		rooms[i] = shown{t, status, until}
	}
	// The server sends them in this order; the screen keeps it as the
	// minutes turn a room from busy to free, before the next poll.
	slices.SortStableFunc(rooms, func(a, b shown) int {
		return cmp.Or(
			cmp.Compare(roomRank(a.status), roomRank(b.status)),
			cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
		)
	})
	items := make([]app.UI, len(rooms))
	for i, r := range rooms {
		var state string
		switch {
		case r.status == wire.RoomUnknown:
			state = tx.availability["PresenceUnknown"]
		case r.status == wire.RoomBusy && r.until.IsZero():
			state = tx.roomBusy
		case r.status == wire.RoomBusy:
			state = fmt.Sprintf(tx.roomBusyUntil, clock(r.until, sc))
		case r.until.IsZero():
			state = tx.free
		default:
			state = fmt.Sprintf(tx.freeUntil, clock(r.until, sc))
		}
		// The next meeting: its time, and its subject where shown. A room
		// with none left says nothing there: "Free" says it all; nor does
		// a busy room whose next meeting follows on within "Busy until".
		next, subject := "", ""
		if n := r.Next; n != nil && n.End.After(now) && !(r.status == wire.RoomBusy && (!n.Start.After(now) || n.Start.Before(r.until))) {
			next, subject = clock(n.Start, sc), slotSubject(*n, sc, tx)
		}
		// Where it is: "8 seats · Floor 2"; a floor's label ("Ground
		// floor", "Mezzanine") as the organisation writes it.
		var where []string
		if r.Capacity > 0 {
			seat := tx.seat[1]
			if r.Capacity == 1 {
				seat = tx.seat[0]
			}
			where = append(where, strconv.Itoa(r.Capacity)+" "+seat)
		}
		if f := strings.TrimSpace(r.Floor); f != "" {
			if strings.Trim(f, "-0123456789") == "" {
				f = tx.floor + " " + f
			}
			where = append(where, f)
		}
		items[i] = tile(r.Tile, r.status, i/roomsPerPage, page).Class("room-tile").Body(
			app.Span().Class("tile-name").Text(r.Name),
			app.Span().Class("tile-state").Text(state),
			app.Span().Class("tile-next").Body(
				app.If(next != "", func() app.UI {
					return app.Span().Body(
						app.Text(tx.nextLabel+" "+next),
						// A subject is the organiser's words, of any
						// length: it gives way with an ellipsis.
						app.If(subject != "", func() app.UI { return app.Span().Class("tile-subject").Text(" · " + subject) }),
					)
				}),
			),
			app.Span().Class("tile-where").Text(strings.Join(where, " · ")),
		)
	}
	return app.Div().Class("board-body").Body(
		app.Ul().Class("board-tiles").Aria("label", tx.boardTitle[wire.BoardRooms]).Body(items...),
	)
}

// personTiles are a people board, in the server's order (by name): each
// person's photo or initials, name, availability as a colour and a word
// with their activity, and when their calendar is free again.
func personTiles(tiles []wire.Tile, sc wire.Screen, tx *texts, page int) app.UI {
	items := make([]app.UI, len(tiles))
	for i, t := range tiles {
		avail := token(t.Status)
		if avail == "" {
			avail = "PresenceUnknown"
		}
		word, activity := presenceWords(wire.Presence{Availability: avail, Activity: t.Activity}, sc.Lang)
		free := ""
		if !t.FreeAt.IsZero() {
			free = fmt.Sprintf(tx.freeAt, clock(t.FreeAt, sc))
		}
		items[i] = tile(t, avail, i/peoplePerPage, page).Class("person-tile", "avail-"+avail).Body(
			tileAvatar(t),
			app.Span().Class("tile-name").Text(t.Name),
			app.Span().Class("tile-presence").Body(
				app.Span().Class("dot").Aria("hidden", "true"),
				app.Span().Class("avail-word").Text(word),
				app.If(activity != "", func() app.UI {
					return app.Span().Class("activity").Text(" · " + activity)
				}),
			),
			app.If(free != "", func() app.UI { return app.Span().Class("tile-free").Text(free) }),
		)
	}
	return app.Div().Class("board-body").Body(
		app.Ul().Class("board-tiles").Aria("label", tx.boardTitle[wire.BoardPeople]).Body(items...),
	)
}

// tile is a board's tile with its hooks. Every tile is in the page; those
// of other pages are hidden (placard.css), so that the page turns without
// asking the server anything.
func tile(t wire.Tile, status string, onPage, page int) app.HTMLLi {
	li := app.Li().Class("board-tile").
		DataSet("testid", "board-tile").
		DataSet("name", attrText(t.Name)).
		DataSet("upn", attrText(t.UPN)).
		DataSet("status", nonEmpty(token(status))).
		DataSet("page", strconv.Itoa(onPage+1))
	if onPage != page {
		li = li.Class("off-page")
	}
	return li
}

// tileAvatar is a person's photo, or their initials.
func tileAvatar(t wire.Tile) app.UI {
	// As the dashboard's avatar: only an address of the edge server goes
	// into the attribute, and the name beside it says who it is.
	if strings.HasPrefix(t.Photo, wire.PhotoPath) && len(t.Photo) < 200 && attrSafe(t.Photo) == t.Photo {
		return app.Img().Class("tile-avatar").Src(t.Photo).Alt("").Aria("hidden", "true")
	}
	initials := t.Initials
	if initials == "" {
		initials = initialsOf(t.Name)
	}
	return app.Span().Class("tile-avatar", "initials").Aria("hidden", "true").Text(initials)
}

// initialsOf are the first letters of a name's first and last words.
func initialsOf(name string) string {
	words := strings.Fields(name)
	if len(words) == 0 {
		return "?"
	}
	first := []rune(words[0])[:1]
	if len(words) == 1 {
		return strings.ToUpper(string(first))
	}
	last := []rune(words[len(words)-1])[:1]
	return strings.ToUpper(string(first) + string(last))
}

// roomAt is a room's state at now: the server's, turned at the minute
// when the meeting it names ends or starts before the next poll says so.
func roomAt(t wire.Tile, now time.Time) (status string, until time.Time) {
	status, until = t.Status, t.Until
	if status != wire.RoomFree && status != wire.RoomSoon && status != wire.RoomBusy {
		// Graph could not read its free/busy: nothing to turn.
		return wire.RoomUnknown, time.Time{}
	}
	if until.IsZero() || now.Before(until) {
		if status != wire.RoomBusy && !until.IsZero() {
			status = wire.RoomFree
			if until.Sub(now) <= wire.RoomSoonWithin {
				status = wire.RoomSoon
			}
		}
		if status != wire.RoomBusy && status != wire.RoomSoon {
			status = wire.RoomFree
		}
		return status, until
	}
	// What the server said has ended.
	n := t.Next
	switch {
	case n != nil && !n.Start.After(now) && n.End.After(now):
		return wire.RoomBusy, n.End
	case n != nil && n.Start.After(now) && t.Status == wire.RoomBusy:
		if n.Start.Sub(now) <= wire.RoomSoonWithin {
			return wire.RoomSoon, n.Start
		}
		return wire.RoomFree, n.Start
	case t.Status == wire.RoomBusy:
		return wire.RoomFree, time.Time{}
	}
	// A free room whose next meeting began: busy, until it ends when
	// the screen knows it.
	if n != nil && !n.Start.After(now) && n.End.After(now) {
		return wire.RoomBusy, n.End
	}
	return wire.RoomBusy, time.Time{}
}

// roomRank orders rooms: free, then free but not for long, then busy,
// then those whose free/busy Graph could not read.
func roomRank(status string) int {
	switch status {
	case wire.RoomFree:
		return 0
	case wire.RoomSoon:
		return 1
	case wire.RoomBusy:
		return 2
	}
	return 3
}

// slotSubject is what a board says a meeting is: nothing on a screen in
// privacy mode or where the room's calendar does not share it, "Private"
// for a private meeting, else its subject.
func slotSubject(s wire.Slot, sc wire.Screen, tx *texts) string {
	switch {
	case sc.Privacy:
		return ""
	case s.Private:
		return tx.private
	}
	return strings.TrimSpace(s.Subject)
}

// shownBoard is the board a screen keeps: the subjects it must never show
// are dropped as it arrives (a private meeting's, any on a screen in
// privacy mode), so that neither the page, its snapshot for the Wasm nor
// anything drawn later can carry them, whatever the server sent.
func shownBoard(b *wire.Board, sc wire.Screen) *wire.Board {
	if b == nil {
		return nil
	}
	c := *b
	c.Tiles = slices.Clone(b.Tiles)
	for i := range c.Tiles {
		for _, s := range []**wire.Slot{&c.Tiles[i].Current, &c.Tiles[i].Next} {
			if *s == nil {
				continue
			}
			slot := **s
			if slot.Private || sc.Privacy {
				slot.Subject = ""
			}
			*s = &slot
		}
	}
	return &c
}

// attrText keeps a display name fit for an attribute: go-app quotes
// attribute values the Go way, so no quote, angle bracket or ampersand
// may reach one.
func attrText(s string) string {
	return nonEmpty(strings.Map(func(r rune) rune {
		if strings.ContainsRune("\"'<>&`\\", r) || r < ' ' {
			return -1
		}
		return r
	}, s))
}

// nonEmpty is never an empty data- value: a prerendered page would read it
// as "true" (see httpd's restoreTrue).
func nonEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

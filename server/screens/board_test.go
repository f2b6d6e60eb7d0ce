package screens_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

const parisList = "paris-hq@" + sandbox.TenantDomain

// boardScreen makes a screen whose settings show a board.
func (h *harness) boardScreen(name string, set server.ScreenSettings) string {
	h.t.Helper()
	ctx := context.Background()
	sc, _, err := h.m.Open(ctx, name, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.m.SetSettings(ctx, sc.ID, set, "test"); err != nil {
		h.t.Fatal(err)
	}
	if err := h.m.Attach(ctx, sc.ID, screens.Hello{}); err != nil {
		h.t.Fatal(err)
	}
	return sc.ID
}

// signInBoard approves the screen's code as upn and waits for its board
// as Graph first gives it: tiles, or the sentence of a missing consent.
func (h *harness) signInBoard(id, upn string) wire.State {
	h.t.Helper()
	code := h.waitPhase(id, 10*time.Second, wire.PhaseCode).Code.UserCode
	if out := h.sb.Approve(code, upn); out != sandbox.OutcomeApproved {
		h.t.Fatalf("approving %s as %s: %s", code, upn, out)
	}
	return h.waitBoard(id, "the board", func(b *wire.Board) bool { return true })
}

// waitBoard waits for a state of the screen whose board is ok. A board's
// first read (40 rooms' schedules, or 60 people's presence, through the
// sandbox) takes seconds under the race detector beside other tests: the
// bound is generous, the wait ends with the state.
func (h *harness) waitBoard(id, what string, ok func(*wire.Board) bool) wire.State {
	h.t.Helper()
	return h.wait(id, 30*time.Second, what, func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && st.Board != nil && ok(st.Board)
	})
}

func tileOf(b *wire.Board, upn string) (wire.Tile, bool) {
	i := slices.IndexFunc(b.Tiles, func(t wire.Tile) bool { return strings.EqualFold(t.UPN, upn) })
	if i < 0 {
		return wire.Tile{}, false
	}
	return b.Tiles[i], true
}

// calendarState is what a room's calendar in the sandbox says at now: busy
// until when, or free until its next meeting (zero: none today).
func calendarState(t *testing.T, sb *sandbox.Sandbox, upn string, now time.Time) (busy bool, until time.Time) {
	t.Helper()
	var evs []sandbox.Event
	for _, day := range []time.Time{now.Add(-24 * time.Hour), now, now.Add(24 * time.Hour)} {
		got, err := sb.DayEvents(upn, day.UTC().Format("2006-01-02"))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got...)
	}
	busyAt := func(at time.Time) (time.Time, bool) {
		for _, e := range evs {
			if !e.IsCancelled && e.ShowAs != "free" && !e.Start.After(at) && e.End.After(at) {
				return e.End, true
			}
		}
		return time.Time{}, false
	}
	end, ok := busyAt(now)
	if ok {
		for {
			next, more := busyAt(end)
			if !more {
				return true, end
			}
			end = next
		}
	}
	for _, e := range evs {
		if !e.IsCancelled && e.ShowAs != "free" && e.Start.After(now) && (until.IsZero() || e.Start.Before(until)) {
			until = e.Start
		}
	}
	return false, until
}

// A rooms board of a room list shows each of its rooms, with capacity and
// floor from the Places API, in the state the sandbox's calendars say;
// free rooms first.
func TestARoomsBoardShowsEveryRoomOfItsListAsTheirCalendarsSay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fastPolls)
	id := h.boardScreen("Lobby", server.ScreenSettings{Layout: server.LayoutRooms, Rooms: parisList})
	st := h.signInBoard(id, "ada@placard.example")
	b := st.Board
	if b.Kind != wire.BoardRooms || b.Title != "Paris HQ" || b.Consent != nil {
		t.Fatalf("board %+v (consent %+v), want the rooms of Paris HQ", b, b.Consent)
	}
	if st.Dashboard != nil {
		t.Errorf("a board's state has a dashboard: %+v", st.Dashboard)
	}
	var list sandbox.RoomListInfo
	for _, l := range h.sb.Rooms().RoomLists {
		if l.Email == parisList {
			list = l
		}
	}
	rooms := h.sb.Rooms().Rooms
	if len(b.Tiles) != len(list.Rooms) {
		t.Fatalf("%d tiles, want the %d rooms of the list: %+v", len(b.Tiles), len(list.Rooms), b.Tiles)
	}
	now := h.sb.Now()
	seenBusy := false
	for _, upn := range list.Rooms {
		tile, ok := tileOf(b, upn)
		if !ok {
			t.Errorf("no tile for %s", upn)
			continue
		}
		info := rooms[slices.IndexFunc(rooms, func(r sandbox.RoomInfo) bool { return r.UPN == upn })]
		if tile.Name != info.DisplayName || tile.Capacity != info.Capacity || tile.Floor != info.FloorLabel || tile.Building != info.Building {
			t.Errorf("tile %+v, want the Places API's %+v", tile, info)
		}
		busy, until := calendarState(t, h.sb, upn, now)
		switch {
		case busy:
			seenBusy = true
			if tile.Status != wire.RoomBusy || !tile.Until.Equal(until) || tile.Current == nil {
				t.Errorf("%s: tile %s until %v (current %+v), want busy until %v", upn, tile.Status, tile.Until, tile.Current, until)
			}
		case !until.IsZero() && until.Sub(now) <= wire.RoomSoonWithin:
			if tile.Status != wire.RoomSoon || !tile.Until.Equal(until) {
				t.Errorf("%s: tile %s until %v, want soon, at %v", upn, tile.Status, tile.Until, until)
			}
		default:
			if tile.Status != wire.RoomFree || !tile.Until.Equal(until) {
				t.Errorf("%s: tile %s until %v, want free until %v", upn, tile.Status, tile.Until, until)
			}
			if !until.IsZero() && (tile.Next == nil || !tile.Next.Start.Equal(until)) {
				t.Errorf("%s: next meeting %+v, want one at %v", upn, tile.Next, until)
			}
		}
	}
	if !seenBusy {
		t.Error("the demo tenant has busy rooms in Paris: none was checked")
	}
	rank := map[string]int{wire.RoomFree: 0, wire.RoomSoon: 1, wire.RoomBusy: 2, wire.RoomUnknown: 3}
	if !slices.IsSortedFunc(b.Tiles, func(x, y wire.Tile) int { return rank[x.Status] - rank[y.Status] }) {
		t.Errorf("free rooms do not come first: %+v", b.Tiles)
	}
}

// A meeting booked in a room shows on the board at the next poll; a
// private meeting's subject never leaves the edge server, nor does any
// subject on a screen in privacy mode.
func TestARoomsBoardShowsABookingAtItsNextPollWithoutPrivateSubjects(t *testing.T) {
	t.Parallel()
	period := 300 * time.Millisecond
	h := newHarness(t, func(c *screens.Config) { c.PollEvery, c.ScheduleEvery = period, period })
	id := h.boardScreen("Lobby", server.ScreenSettings{Layout: server.LayoutRooms, Rooms: parisList})
	h.signInBoard(id, "ada@placard.example")
	private := h.boardScreen("Hall", server.ScreenSettings{Layout: server.LayoutRooms, Rooms: parisList, Privacy: true})
	h.signInBoard(private, "ada@placard.example")

	// The lobby is free now, and keeps its meetings' subjects: a meeting
	// booked now makes it busy, and a private one after it is times
	// only.
	lobby := "lobby@" + sandbox.TenantDomain
	if _, err := h.sb.SetRoomKeepsSubject(lobby, true); err != nil {
		t.Fatal(err)
	}
	now := h.sb.Now()
	end := now.Add(20 * time.Minute).Truncate(time.Minute)
	if _, err := h.sb.BookRoom(lobby, sandbox.Booking{Organizer: "grace@placard.example", Subject: "Secret merger",
		Start: end, End: end.Add(30 * time.Minute), Sensitivity: "private"}); err != nil {
		t.Fatal(err)
	}
	booked := time.Now()
	if _, err := h.sb.BookRoom(lobby, sandbox.Booking{Organizer: "alan@placard.example", Subject: "Open review",
		Start: now.Add(-time.Minute), End: end}); err != nil {
		t.Fatal(err)
	}
	st := h.waitBoard(id, "the lobby busy", func(b *wire.Board) bool {
		tile, _ := tileOf(b, lobby)
		return tile.Status == wire.RoomBusy && tile.Until.Equal(end.Add(30*time.Minute))
	})
	// Within one poll period, and the time to read it.
	if took := time.Since(booked); took > 2*period+2*time.Second {
		t.Errorf("the booking showed after %v, with a poll every %v", took, period)
	}
	tile, _ := tileOf(st.Board, lobby)
	if tile.Current == nil || tile.Current.Subject != "Open review" || tile.Next == nil || !tile.Next.Start.Equal(end) || tile.Next.Subject != "" {
		t.Errorf("lobby now %+v, next %+v: want the open review, then a meeting without its subject at %v", tile.Current, tile.Next, end)
	}
	pst := h.waitBoard(private, "the lobby busy", func(b *wire.Board) bool {
		tile, _ := tileOf(b, lobby)
		return tile.Status == wire.RoomBusy
	})
	if tile, _ := tileOf(pst.Board, lobby); tile.Current == nil || tile.Current.Subject != "" {
		t.Errorf("a screen in privacy mode shows %+v", tile.Current)
	}
	for _, s := range []string{id, private} {
		pv, err := h.m.Preview(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(pv)
		if strings.Contains(string(b), "Secret merger") {
			t.Errorf("a private meeting's subject is in what %s shows: %s", s, b)
		}
		if s == private && strings.Contains(string(b), "Open review") {
			t.Errorf("a subject is in what a screen in privacy mode shows: %s", b)
		}
	}
	b, _ := json.Marshal(st)
	if strings.Contains(string(b), "Secret merger") {
		t.Errorf("a private meeting's subject was sent: %s", b)
	}
	// Every state sent so far: none has a private subject.
	for _, s := range []string{id, private} {
		for {
			select {
			case st := <-h.pub.states(s):
				b, _ := json.Marshal(st)
				if strings.Contains(string(b), "Secret merger") || (s == private && strings.Contains(string(b), "Open review")) {
					t.Errorf("a subject it must not show was sent to %s: %s", s, b)
				}
				continue
			default:
			}
			break
		}
	}
}

// A team board of a group's members: each with their presence and when
// their calendar is free; a presence change reaches the person's tile
// within one presence period.
func TestATeamBoardShowsPresenceAndWhenEachIsFree(t *testing.T) {
	t.Parallel()
	period := 200 * time.Millisecond
	h := newHarness(t, func(c *screens.Config) { c.PollEvery, c.ScheduleEvery = period, period })
	var team sandbox.GroupInfo
	for _, g := range h.sb.Groups() {
		if g.DisplayName == "Team" {
			team = g
		}
	}
	if len(team.Members) < 12 {
		t.Fatalf("the sandbox's Team has %d members, want 12 or more", len(team.Members))
	}
	id := h.boardScreen("Team corner", server.ScreenSettings{Layout: server.LayoutPeople, PeopleGroup: team.ID})
	b := h.signInBoard(id, "ada@placard.example").Board
	if b.Kind != wire.BoardPeople || b.Title != "Team" || b.Consent != nil || len(b.Tiles) != len(team.Members) {
		t.Fatalf("board %+v (consent %+v), want a tile for each of the %d members", b, b.Consent, len(team.Members))
	}
	users := h.sb.Users()
	now := h.sb.Now()
	for _, upn := range team.Members {
		tile, ok := tileOf(b, upn)
		if !ok {
			t.Errorf("no tile for %s", upn)
			continue
		}
		u := users[slices.IndexFunc(users, func(u sandbox.UserInfo) bool { return u.UPN == upn })]
		if tile.Name != u.DisplayName {
			t.Errorf("%s's tile is named %q, want %q", upn, tile.Name, u.DisplayName)
		}
		if !u.Mailbox {
			if !tile.FreeAt.IsZero() {
				t.Errorf("%s has no calendar, and the board says free at %v", upn, tile.FreeAt)
			}
			continue
		}
		if busy, until := calendarState(t, h.sb, upn, now); busy && !tile.FreeAt.Equal(until) {
			t.Errorf("%s is busy until %v, and the board says free at %v", upn, until, tile.FreeAt)
		} else if !busy && !tile.FreeAt.IsZero() {
			t.Errorf("%s is free, and the board says free at %v", upn, tile.FreeAt)
		}
	}
	if ada, _ := tileOf(b, "ada@placard.example"); ada.FreeAt.IsZero() {
		t.Errorf("Ada is in a meeting in the demo calendar, and her tile has no free-at time: %+v", ada)
	}
	grace, _ := tileOf(b, "grace@placard.example")
	if grace.Status != "Busy" || grace.Activity != "InACall" || grace.Photo == "" {
		t.Errorf("Grace's tile %+v, want Busy, InACall, her photo", grace)
	}

	changed := time.Now()
	if err := h.sb.SetPresence("grace@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	h.waitBoard(id, "Grace presenting", func(b *wire.Board) bool {
		tile, _ := tileOf(b, "grace@placard.example")
		return tile.Status == "DoNotDisturb" && tile.Activity == "Presenting"
	})
	if took := time.Since(changed); took > 2*period+2*time.Second {
		t.Errorf("the presence change showed after %v, with presence read every %v", took, period)
	}
	// Her photo is served to this screen, and only to it.
	tag := grace.Photo[strings.LastIndex(grace.Photo, "/")+1:]
	if grace.Photo != wire.PhotoPath+id+"/"+tag {
		t.Errorf("photo address %q is not this screen's", grace.Photo)
	}
	if data, ctype, ok := h.m.Photo(id, tag); !ok || len(data) == 0 || !strings.HasPrefix(ctype, "image/") {
		t.Errorf("the board's photo is not served: %v %q", ok, ctype)
	}
}

// A board whose permission the organisation has not consented to says
// which, and who can grant it, instead of an empty board; once an
// administrator consents and the account signs in again, it fills.
func TestARoomsBoardWithoutConsentSaysSoThenFillsAfterConsentAndSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fastPolls)
	f := h.sb.Faults()
	f.PlaceConsentMissing = true
	h.sb.SetFaults(f)
	id := h.boardScreen("Lobby", server.ScreenSettings{Layout: server.LayoutRooms, Rooms: parisList})
	code := h.waitPhase(id, 10*time.Second, wire.PhaseCode).Code.UserCode
	if out := h.sb.Approve(code, "ada@placard.example"); out != sandbox.OutcomeConsent {
		t.Fatalf("approving without an administrator's consent: %s, want %s", out, sandbox.OutcomeConsent)
	}
	st := h.waitBoard(id, "the consent sentence", func(b *wire.Board) bool { return b.Consent != nil })
	c := st.Board.Consent
	if !slices.Equal(c.Permissions, []string{"Place.Read.All"}) || c.By != wire.ConsentAdmin || len(st.Board.Tiles) != 0 {
		t.Errorf("board %+v, consent %+v: want Place.Read.All, which an administrator grants, and no tiles", st.Board, c)
	}

	f.PlaceConsentMissing = false
	h.sb.SetFaults(f)
	st = h.signInBoard(id, "ada@placard.example")
	if st.Board.Consent != nil || len(st.Board.Tiles) == 0 {
		st = h.waitBoard(id, "the rooms", func(b *wire.Board) bool { return b.Consent == nil && len(b.Tiles) > 0 })
	}
	if len(st.Board.Tiles) != 4 {
		t.Errorf("%d rooms after consent, want Paris HQ's 4", len(st.Board.Tiles))
	}
}

// A token without a board's permission (the account signed in for a
// dashboard, then the screen became a board) gives the sentence, never an
// empty board.
func TestABoardWhoseTokenLacksAPermissionSaysWhich(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby")
	h.signIn(id, "ada@placard.example")
	if _, err := h.m.SetSettings(context.Background(), id, server.ScreenSettings{Layout: server.LayoutPeople, People: "grace@placard.example,alan@placard.example"}, "test"); err != nil {
		t.Fatal(err)
	}
	st := h.waitBoard(id, "the consent sentence", func(b *wire.Board) bool { return b.Consent != nil })
	if c := st.Board.Consent; len(c.Permissions) != 1 || c.Permissions[0] != "User.ReadBasic.All" && c.Permissions[0] != "Presence.Read.All" || c.By != wire.ConsentUser {
		t.Errorf("consent %+v: want a permission the account grants itself", c)
	}
}

// 50 boards of 60 people and 20 boards of 40 rooms, all of one account,
// stay within Graph's budgets as the sandbox counts them over ten of its
// minutes: the tenant's presence budget (1,500 requests per 30 s) and
// Outlook's per mailbox (10,000 requests per 10 minutes). The boards'
// polls run on a clock of the test's, which is the sandbox's and the edge
// server's: each poll when the one before said it was due.
func TestFiftyPeopleBoardsAndTwentyRoomsBoardsStayWithinGraphsBudgets(t *testing.T) {
	t.Parallel()
	const (
		peopleBoards = 50
		roomsBoards  = 20
		perBoard     = 60
	)
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	h := newHarnessOn(t, sandbox.Options{NumberedUsers: perBoard + 1, NumberedRooms: 40, Now: clock},
		func(c *screens.Config) { c.Now = clock })
	screens.PaceOn(h.m, clock)
	people := func(i int) server.Addresses {
		// Each board its own: all but one of 61 people.
		var upns []string
		for k := 1; k <= perBoard+1; k++ {
			if k != i+1 {
				upns = append(upns, fmt.Sprintf("user%04d@%s", k, sandbox.TenantDomain))
			}
		}
		return server.AddressesOf(upns)
	}
	list := "numbered-rooms-01@" + sandbox.TenantDomain
	rooms := func(i int) server.Addresses {
		// Each board its own: the list, and one of its rooms again.
		return server.AddressesOf([]string{list, fmt.Sprintf("room%04d@%s", i+1, sandbox.TenantDomain)})
	}
	// One sign-in for each kind of board, so that the account's tokens
	// carry both boards' permissions.
	first := h.boardScreen("People", server.ScreenSettings{Layout: server.LayoutPeople, People: people(0)})
	if b := h.signInBoard(first, "ada@placard.example").Board; len(b.Tiles) != perBoard {
		t.Fatalf("%d tiles on a board of %d people (consent %+v)", len(b.Tiles), perBoard, b.Consent)
	}
	second := h.boardScreen("Rooms", server.ScreenSettings{Layout: server.LayoutRooms, Rooms: rooms(0)})
	b40 := h.signInBoard(second, "ada@placard.example").Board
	if len(b40.Tiles) != 40 {
		t.Fatalf("%d tiles on a board of 40 rooms (consent %+v)", len(b40.Tiles), b40.Consent)
	}
	// Every room of the list of 40 is on the board (the screen pages
	// through them).
	for i := 1; i <= 40; i++ {
		if _, ok := tileOf(b40, fmt.Sprintf("room%04d@%s", i, sandbox.TenantDomain)); !ok {
			t.Errorf("room %d of 40 is not on the board", i)
		}
	}
	ctx := context.Background()
	sc, err := h.store.Screen(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := h.store.Account(ctx, sc.AccountID)
	if err != nil {
		t.Fatal(err)
	}

	// Their presence is set, as Teams sets it (else the sandbox works it
	// out from each one's calendar at every read, which is its cost, not
	// the edge server's).
	for k := 1; k <= perBoard+1; k++ {
		if err := h.sb.SetPresence(fmt.Sprintf("user%04d@%s", k, sandbox.TenantDomain), "Busy", "InACall"); err != nil {
			t.Fatal(err)
		}
	}

	type board struct {
		poll func(context.Context) time.Duration
		due  time.Time
	}
	var boards []*board
	for i := range peopleBoards {
		boards = append(boards, &board{poll: screens.BoardPoll(h.m, acct, server.ScreenSettings{Layout: server.LayoutPeople, People: people(i)})})
	}
	for i := range roomsBoards {
		boards = append(boards, &board{poll: screens.BoardPoll(h.m, acct, server.ScreenSettings{Layout: server.LayoutRooms, Rooms: rooms(i)})})
	}
	begin := clock()
	for _, b := range boards {
		b.due = begin
	}
	from := h.sb.Budgets()
	end := begin.Add(sandbox.OutlookWindow)
	polls := 0
	for {
		next := boards[0]
		for _, b := range boards {
			if b.due.Before(next.due) {
				next = b
			}
		}
		if !next.due.Before(end) {
			break
		}
		now.Store(next.due.UnixNano())
		// Each poll is bounded, not the whole loop: one that waits on a
		// clock that does not move (for the presence budget) stalls, and
		// a loaded machine only takes longer over all of them.
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		wait := next.poll(pctx)
		stalled := pctx.Err() != nil
		cancel()
		if stalled {
			t.Fatalf("a poll waited 30 s (for the presence budget?) at %v", clock())
		}
		next.due = next.due.Add(wait)
		polls++
	}
	b := h.sb.Budgets()
	presence := b.Presence.Total - from.Presence.Total
	t.Logf("%d polls; presence: %d requests in 10 minutes, at most %d in 30 s (limit %d)", polls, presence, b.Presence.PeakWindow, b.Presence.Limit)
	if b.Presence.PeakWindow > b.Presence.Limit {
		t.Errorf("%d presence requests in 30 s: over the tenant's %d", b.Presence.PeakWindow, b.Presence.Limit)
	}
	// Every people board read presence every 30 s, as a shown account
	// does: a board that stalled would be within budget too.
	if want := peopleBoards * int(sandbox.OutlookWindow/(30*time.Second)); presence < want {
		t.Errorf("%d presence requests in 10 minutes from %d people boards, want %d: one every 30 s each", presence, peopleBoards, want)
	}
	var ada sandbox.MailboxLoad
	for _, mb := range b.Outlook.Mailboxes {
		if mb.PeakWindow > b.Outlook.Limit {
			t.Errorf("mailbox %s: %d requests in 10 minutes: over Outlook's %d", mb.UPN, mb.PeakWindow, b.Outlook.Limit)
		}
		if mb.UPN == "ada@placard.example" {
			ada = mb
		}
	}
	fromAda := 0
	for _, mb := range from.Outlook.Mailboxes {
		if mb.UPN == "ada@placard.example" {
			fromAda = mb.Total
		}
	}
	t.Logf("Outlook, the account's mailbox: %d requests in 10 minutes (limit %d)", ada.Total-fromAda, b.Outlook.Limit)
	// Every board read free/busy every 2 minutes: 3 requests for 60
	// people, 2 for 40 rooms.
	if want := (peopleBoards*3 + roomsBoards*2) * int(sandbox.OutlookWindow/(2*time.Minute)); ada.Total-fromAda < want {
		t.Errorf("%d getSchedule requests to the account's mailbox in 10 minutes, want %d", ada.Total-fromAda, want)
	}
}

// A board shown on two replicas is polled by one, its owner, and the
// other shows what the owner publishes.
func TestABoardOnTwoReplicasIsPolledByItsOwnerAlone(t *testing.T) {
	t.Parallel()
	rs := newReplicas()
	a := newHarness(t, rs.asReplica("a"))
	b := a.replica(nil, rs.asReplica("b"))
	set := server.ScreenSettings{Layout: server.LayoutRooms, Rooms: parisList}
	onA := a.boardScreen("Lobby", set)
	a.signInBoard(onA, "ada@placard.example")
	acct := accountOf(t, a, onA)

	ctx := context.Background()
	sc, _, err := b.m.Open(ctx, "Hall", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.SetSettings(ctx, sc.ID, set, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.UpdateScreen(ctx, sc.ID, func(s *server.Screen) error { s.AccountID = acct; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := b.m.Attach(ctx, sc.ID, screens.Hello{}); err != nil {
		t.Fatal(err)
	}
	onB := sc.ID
	b.waitBoard(onB, "the board from a", func(bd *wire.Board) bool { return len(bd.Tiles) == 4 })

	lobby := "lobby@" + sandbox.TenantDomain
	now := a.sb.Now()
	end := now.Add(25 * time.Minute).Truncate(time.Minute)
	if _, err := a.sb.BookRoom(lobby, sandbox.Booking{Organizer: "alan@placard.example", Subject: "Stand-up", Start: now.Add(-time.Minute), End: end}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		h  *harness
		id string
	}{{a, onA}, {b, onB}} {
		s.h.waitBoard(s.id, "the lobby busy", func(bd *wire.Board) bool {
			tile, _ := tileOf(bd, lobby)
			return tile.Status == wire.RoomBusy && tile.Until.Equal(end)
		})
	}
	if n := len(b.sent.of("/v1.0/me/calendar/getSchedule")); n != 0 {
		t.Errorf("replica b read the board's free/busy %d times: a owns it", n)
	}
	if n := len(a.sent.of("/v1.0/me/calendar/getSchedule")); n == 0 {
		t.Error("replica a never read the board's free/busy")
	}
}

// Signing a rooms board in by QR code asks for Place.Read.All; refused for
// want of an administrator's consent, the board says so.
func TestARoomsBoardSignedInByQRCodeAsksForItsPermissionAndSaysWhenRefused(t *testing.T) {
	t.Parallel()
	h := qrHarness(t, server.SignInQR)
	f := h.sb.Faults()
	f.PlaceConsentMissing = true
	h.sb.SetFaults(f)
	id := h.boardScreen("Lobby TV", server.ScreenSettings{Layout: server.LayoutRooms, Rooms: parisList})
	p := h.open(id, linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode)))
	if !strings.Contains(p.authURL, "Place.Read.All") {
		t.Errorf("the sign-in asks for %s, without the board's permission", p.authURL)
	}
	cb := p.signIn("ada@placard.example")
	if cb.Error == "" {
		t.Fatalf("the sign-in went through without an administrator's consent: %+v", cb)
	}
	if err := finish(h, cb); err == nil {
		t.Fatal("a sign-in refused finished")
	}
	st := h.waitBoard(id, "the consent sentence", func(b *wire.Board) bool { return b.Consent != nil })
	if c := st.Board.Consent; !slices.Equal(c.Permissions, []string{"Place.Read.All"}) || c.By != wire.ConsentAdmin || c.Refused {
		t.Errorf("consent %+v, want Place.Read.All from an administrator, not refused: none was asked yet", c)
	}
}

// A dashboard asks only for the server's own permissions: a board's are
// asked for by a board's sign-in alone (least privilege).
func TestADashboardsSignInAsksForNoBoardsPermission(t *testing.T) {
	t.Parallel()
	h := qrHarness(t, server.SignInQR)
	id := h.screen("Lobby TV")
	p := h.open(id, linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode)))
	u, err := url.Parse(p.authURL)
	if err != nil {
		t.Fatal(err)
	}
	scope := u.Query().Get("scope")
	for _, perm := range []string{"Place.Read.All", "Presence.Read.All", "User.ReadBasic.All", "GroupMember.Read.All", "Calendars.Read.Shared"} {
		if strings.Contains(scope, perm) {
			t.Errorf("a dashboard's sign-in asks for %s: %s", perm, scope)
		}
	}
	if !strings.Contains(scope, "Calendars.Read") || !strings.Contains(scope, "Presence.Read") {
		t.Errorf("a dashboard's sign-in asks for %q", scope)
	}
}

// A replica that cannot open the account's tokens (another key sealed
// them) gives its boards of the account up, as it does the account: the
// replica that can polls the board, and both show it.
func TestAReplicaThatCannotOpenTheAccountsTokensGivesItsBoardUp(t *testing.T) {
	t.Parallel()
	rs := newReplicas()
	a := newHarness(t, rs.asReplica("a"))
	b := a.replica(newBox(t), rs.asReplica("b")) // another key
	set := server.ScreenSettings{Layout: server.LayoutRooms, Rooms: parisList}
	onA := a.boardScreen("Lobby", set)
	a.signInBoard(onA, "ada@placard.example")
	// Ada signs in again on b's board: her cache is sealed with b's key
	// now, which a cannot open.
	onB := b.boardScreen("Hall", set)
	b.signInBoard(onB, "ada@placard.example")

	rs.logs["a"].await(t, 0, 10*time.Second, "gives a board of the account up")
	lobby := "lobby@" + sandbox.TenantDomain
	now := a.sb.Now()
	end := now.Add(25 * time.Minute).Truncate(time.Minute)
	if _, err := a.sb.BookRoom(lobby, sandbox.Booking{Organizer: "alan@placard.example", Subject: "Stand-up", Start: now.Add(-time.Minute), End: end}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		h  *harness
		id string
	}{{a, onA}, {b, onB}} {
		s.h.waitBoard(s.id, "the lobby busy, not stale", func(bd *wire.Board) bool {
			tile, _ := tileOf(bd, lobby)
			return tile.Status == wire.RoomBusy && tile.Until.Equal(end) && !bd.Stale
		})
	}
}

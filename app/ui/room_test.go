package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
)

// roomState is the Lobby Room's panel with a day of meetings, at now.
func roomState(sc wire.Screen, now time.Time, today ...wire.Event) wire.State {
	sc.Layout = wire.LayoutRoom
	st := dashboard(sc, today...)
	st.Now = now
	st.Dashboard.User = wire.User{Name: "Lobby Room", Initials: "LR"}
	st.Dashboard.Presence = nil
	st.Dashboard.Room = &wire.Room{}
	return st
}

func renderAt(st wire.State, now time.Time, edit ...func(*Screen)) string {
	return render(st, append([]func(*Screen){func(s *Screen) { s.now = now }}, edit...)...)
}

func meeting(id, subject, organizer, start, end string) wire.Event {
	e := event(id, subject, start, end)
	e.Organizer = organizer
	return e
}

func TestRoomPanelShowsFreeSoonAndBusyAsTheClockTurns(t *testing.T) {
	day := []wire.Event{
		meeting("a", "Standup", "Grace Hopper", "09:00", "09:15"),
		meeting("b", "Design review", "Ada Lovelace", "11:00", "12:00"),
		meeting("c", "Planning", "Ada Lovelace", "12:00", "12:30"),
	}
	sc := wire.Screen{Clock24: true}
	tests := []struct {
		now            time.Time
		status, until  string
		meeting, label string
		left           int // meetings of the day not over
	}{
		{at("10:40"), "free", "Free until 11:00", "b", "Next", 2},
		{at("10:50"), "soon", "Free until 11:00", "b", "Next", 2},
		{at("11:10"), "busy", "Busy until 12:30", "b", "Now", 2},
		{at("12:10"), "busy", "Busy until 12:30", "c", "Now", 1},
		{at("13:00"), "free", "Free for the rest of the day", "", "", 0},
	}
	for _, tt := range tests {
		// The state came at 10:40; the screen's clock moves on alone.
		html := renderAt(roomState(sc, testNow, day...), tt.now)
		if !strings.Contains(html, `data-layout="room"`) {
			t.Fatal("the screen element does not say its layout is room")
		}
		status := elements(html, "room-status")
		if len(status) != 1 || !strings.Contains(status[0], `data-status="`+tt.status+`"`) {
			t.Errorf("at %s room-status %q, want %s", tt.now.Format("15:04"), status, tt.status)
		}
		if got := textsOf(html, "room-until"); len(got) != 1 || got[0] != tt.until {
			t.Errorf("at %s room-until %q, want %q", tt.now.Format("15:04"), got, tt.until)
		}
		m := elements(html, "room-meeting")
		switch {
		case tt.meeting == "" && len(m) != 0:
			t.Errorf("at %s a meeting is shown: %q", tt.now.Format("15:04"), m)
		case tt.meeting != "" && (len(m) != 1 || !strings.Contains(m[0], `data-id="`+tt.meeting+`"`)):
			t.Errorf("at %s room-meeting %q, want %s", tt.now.Format("15:04"), m, tt.meeting)
		case tt.meeting != "":
			text := textsOf(html, "room-meeting")[0]
			if !strings.HasPrefix(text, tt.label) || !strings.Contains(text, "by Ada Lovelace") {
				t.Errorf("at %s room-meeting says %q", tt.now.Format("15:04"), text)
			}
		}
		if got := textsOf(html, "room-name"); len(got) != 1 || got[0] != "Lobby Room" {
			t.Errorf("room-name %q", got)
		}
		if items := elements(html, "room-agenda-item"); len(items) != tt.left {
			t.Errorf("at %s %d room-agenda-items, want the %d not over", tt.now.Format("15:04"), len(items), tt.left)
		}
		if tt.left == 0 && len(elements(html, "agenda-empty")) != 1 {
			t.Errorf("at %s the day over says nothing", tt.now.Format("15:04"))
		}
	}
}

func TestRoomPanelInPrivacyModeNamesTheOrganiserNotTheSubject(t *testing.T) {
	private := meeting("p", "", "", "11:00", "11:30")
	private.Private = true
	html := renderAt(roomState(wire.Screen{Privacy: true, Clock24: true}, testNow, meeting("b", "Secret merger", "Ada Lovelace", "10:30", "11:00"), private), testNow)
	if strings.Contains(html, "Secret merger") {
		t.Error("a panel in privacy mode shows a subject")
	}
	if got := textsOf(html, "room-meeting"); len(got) != 1 || !strings.Contains(got[0], "by Ada Lovelace") {
		t.Errorf("room-meeting %q, want its organiser", got)
	}
	if got := textsOf(html, "room-agenda-item"); len(got) != 2 || !strings.Contains(got[1], "Private") {
		t.Errorf("room-agenda-items %q, want the private meeting called private", got)
	}
}

func TestRoomPanelSpeaksTheScreensLanguage(t *testing.T) {
	html := renderAt(roomState(wire.Screen{Lang: "fr"}, testNow, meeting("b", "Revue", "Ada Lovelace", "11:00", "12:00")), testNow)
	if got := textsOf(html, "room-until"); len(got) != 1 || got[0] != "Libre jusqu’à 11:00" {
		t.Errorf("room-until %q", got)
	}
	if !strings.Contains(html, ">Libre<") {
		t.Error("the status word is not French")
	}
}

func TestRoomActionsFollowTheRoomsDay(t *testing.T) {
	sc := wire.Screen{Touch: true, Acts: true, Clock24: true, ReleaseAfter: 10}
	day := []wire.Event{meeting("b", "Design review", "Ada Lovelace", "11:00", "11:30"), meeting("c", "Planning", "Ada Lovelace", "11:45", "12:30")}
	act := func(now time.Time, edit ...func(*wire.State)) string {
		st := roomState(sc, testNow, day...)
		st.Dashboard.CanBook = true
		for _, f := range edit {
			f(&st)
		}
		return renderAt(st, now)
	}
	minutes := func(html string) []string {
		var out []string
		for _, b := range elements(html, "room-book") {
			if i := strings.Index(b, `data-minutes="`); i >= 0 {
				out = append(out, strings.SplitN(b[i+len(`data-minutes="`):], `"`, 2)[0])
			}
		}
		return out
	}
	// 10:00, free for an hour: every length; nothing to extend or end.
	html := act(at("10:00"))
	if got := strings.Join(minutes(html), ","); got != "15,30,60" {
		t.Errorf("at 10:00 Book now offers %q", got)
	}
	if len(elements(html, "room-extend"))+len(elements(html, "room-end"))+len(elements(html, "room-checkin")) != 0 {
		t.Error("at 10:00 a free room offers to extend, end or check in")
	}
	// 10:40: 20 minutes before the next meeting, 15 only; check in not yet.
	html = act(at("10:40"))
	if got := strings.Join(minutes(html), ","); got != "15" {
		t.Errorf("at 10:40 Book now offers %q, want 15 only", got)
	}
	if len(elements(html, "room-checkin")) != 0 {
		t.Error("check-in opens 20 minutes before the start")
	}
	// 10:56: check in open; 11:05: busy, check in, extend (15 minutes
	// fit before 11:45), end; no booking.
	if html := act(at("10:56")); len(elements(html, "room-checkin")) != 1 || len(elements(html, "room-end")) != 1 || len(elements(html, "room-extend")) != 0 {
		t.Error("4 minutes before the start, check-in is not open, or the meeting cannot be ended, or it can be extended")
	}
	html = act(at("11:05"))
	if len(minutes(html)) != 0 || len(elements(html, "room-checkin")) != 1 || len(elements(html, "room-extend")) != 1 || len(elements(html, "room-end")) != 1 {
		t.Errorf("at 11:05: book %v, checkin %d, extend %d, end %d", minutes(html), len(elements(html, "room-checkin")), len(elements(html, "room-extend")), len(elements(html, "room-end")))
	}
	// Checked in: no more check-in, and the day says so.
	html = act(at("11:05"), func(st *wire.State) { st.Dashboard.Room.CheckedIn = []string{"b"} })
	if len(elements(html, "room-checkin")) != 0 || !strings.Contains(textsOf(html, "room-meeting")[0], "Checked in") {
		t.Error("a checked-in meeting offers check-in again, or does not say it is checked in")
	}
	// 11:10: past the release time, no check-in. 12:00: Planning cannot
	// be extended into... nothing follows it: it can.
	if len(elements(act(at("11:10")), "room-checkin")) != 0 {
		t.Error("check-in is open after the release time")
	}
	// Without actions allowed, or on a TV: no buttons at all.
	for _, sc2 := range []wire.Screen{{Touch: true}, {Acts: true}} {
		st := roomState(sc2, testNow, day...)
		st.Dashboard.CanBook = true
		if html := renderAt(st, at("11:05")); strings.Contains(html, `data-testid="room-end"`) || strings.Contains(html, `data-testid="room-book"`) {
			t.Errorf("screen %+v shows the room's buttons", sc2)
		}
	}
	// Asked: the confirmation names the new end; then the result.
	html = render(roomState(sc, testNow, day...), func(s *Screen) {
		s.now = at("11:05")
		s.state.Dashboard.CanBook = true
		s.acts.room = &wire.RoomAction{Action: wire.ActExtend, Event: "b"}
	})
	if len(elements(html, "room-confirm")) != 1 || !strings.Contains(html, "Extend the meeting to 11:45?") {
		t.Error("Extend does not ask to extend to 11:45")
	}
	for _, tt := range []struct {
		b       wire.Booking
		outcome string
	}{
		{wire.Booking{OK: true, Action: wire.ActExtend, Start: at("11:00"), End: at("11:45")}, "ok"},
		{wire.Booking{Action: wire.ActEnd, Problem: wire.BookTooMany}, "limited"},
		{wire.Booking{Action: wire.ActEnd, Problem: wire.BookRefused}, "refused"},
		{wire.Booking{Action: wire.ActEnd, Problem: wire.BookBusy}, "error"},
	} {
		html := act(at("11:05"), func(st *wire.State) { st.Dashboard.Booking = &tt.b })
		if r := elements(html, "room-result"); len(r) != 1 || !strings.Contains(r[0], `data-outcome="`+tt.outcome+`"`) {
			t.Errorf("result of %+v: %q, want %s", tt.b, r, tt.outcome)
		}
	}
}

func TestARoomPanelWithoutACalendarSaysSoRatherThanFree(t *testing.T) {
	st := roomState(wire.Screen{}, testNow)
	st.Dashboard.Agenda = nil
	html := renderAt(st, testNow)
	if status := elements(html, "room-status"); len(status) != 1 || !strings.Contains(status[0], `data-status="unknown"`) {
		t.Errorf("room-status %q, want unknown", status)
	}
	if strings.Contains(html, ">Free<") || !strings.Contains(html, "no calendar") {
		t.Error("a panel without a calendar says the room is free, or does not say it has none")
	}
	// Before the first read, neither free nor "no calendar".
	st.Dashboard.Fresh = time.Time{}
	html = renderAt(st, testNow)
	if status := elements(html, "room-status"); len(status) != 1 || !strings.Contains(status[0], `data-status="unknown"`) || strings.Contains(html, "no calendar") {
		t.Errorf("a panel not read yet: %q", textsOf(html, "room-status"))
	}
}

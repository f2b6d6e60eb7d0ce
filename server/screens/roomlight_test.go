package screens_test

import (
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// A light key of a room's account (one a screen shows in the room
// layout) is told the room's status from its calendar: free; soon once a
// meeting is booked to start within 10 minutes; busy when it starts, told
// by the clock alone (no poll is due meanwhile).
func TestARoomsLightIsToldFreeSoonAndBusyFromItsCalendar(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *screens.Config) {
		// Polls only when poked, and then the calendar too.
		c.PollEvery, c.CalendarEvery, c.FollowEvery = time.Hour, time.Hour, time.Hour
	})
	id := h.screen("Lobby panel")
	if _, err := h.store.UpdateScreen(t.Context(), id, func(sc *server.Screen) error {
		sc.Settings.Layout = server.LayoutRoom
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	h.signIn(id, "lobby@placard.example")
	acct := accountOf(t, h, id)
	f, _ := follow(t, h, "lobby@placard.example")
	// The demo's lobby is free for an hour at least.
	f.await(t, 5*time.Second, "free", func(p server.Presence) bool { return p.SignedIn && p.Availability == "free" })

	start := time.Now().Add(3 * time.Second).Truncate(time.Second) // Graph keeps seconds
	if _, err := h.sb.BookRoom("lobby@placard.example", sandbox.Booking{Organizer: "ada@placard.example", Subject: "Stand-up", Start: start, End: start.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	screens.Poke(h.m, acct)
	f.await(t, 5*time.Second, "soon", func(p server.Presence) bool { return p.Availability == "soon" })
	busy := f.await(t, 5*time.Second, "busy", func(p server.Presence) bool { return p.Availability == "busy" })
	// Told at the start: no poll is due for an hour, the clock turns it.
	if busy.Updated.Before(start) || busy.Updated.After(start.Add(time.Second)) {
		t.Errorf("told busy at %v, for a meeting that starts at %v", busy.Updated, start)
	}
}

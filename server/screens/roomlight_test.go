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

// A light key that follows an account already turns to the room's status
// once a screen shows the account in the room layout, and back to the
// account's presence once no screen does: the key need not follow again.
func TestALightFollowsTheRoomLayoutOfItsAccountsScreens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *screens.Config) {
		c.PollEvery, c.CalendarEvery, c.FollowEvery = time.Hour, time.Hour, time.Hour
	})
	id := h.screen("Hall")
	h.signIn(id, "ada@placard.example")
	f, _ := follow(t, h, "ada@placard.example")
	f.await(t, 5*time.Second, "the account's presence", accountsPresence)

	setLayout(t, h, id, server.LayoutRoom)
	// The room's status needs its calendar, which the account's source
	// reads at once for a room's light, as for a screen.
	p := f.await(t, 5*time.Second, "the room's status", roomsStatus)
	if p.Activity != p.Availability {
		t.Errorf("a room's status %q with the activity %q, want both the same", p.Availability, p.Activity)
	}
	setLayout(t, h, id, server.LayoutDashboard)
	f.await(t, 5*time.Second, "the account's presence again", accountsPresence)
}

// The same across replicas: the layout is changed on the replica of the
// screen, and the key follows the account on another.
func TestALightOnAnotherReplicaFollowsTheRoomLayoutOfItsAccountsScreens(t *testing.T) {
	t.Parallel()
	rs := newReplicas()
	a := newHarness(t, rs.asReplica("a"))
	b := a.replica(nil, rs.asReplica("b"))
	id := a.screen("Hall")
	a.signIn(id, "ada@placard.example")
	f, _ := follow(t, b, "ada@placard.example")
	f.await(t, 5*time.Second, "the account's presence", accountsPresence)
	setLayout(t, a, id, server.LayoutRoom)
	f.await(t, 5*time.Second, "the room's status", roomsStatus)
	setLayout(t, a, id, server.LayoutDashboard)
	f.await(t, 5*time.Second, "the account's presence again", accountsPresence)
}

// roomsStatus reports whether p is a room's status.
func roomsStatus(p server.Presence) bool {
	return p.SignedIn && (p.Availability == "free" || p.Availability == "soon" || p.Availability == "busy")
}

// accountsPresence reports whether p is a signed-in account's presence,
// not a room's status.
func accountsPresence(p server.Presence) bool {
	return p.SignedIn && !roomsStatus(p) && p.Availability != "" && p.Availability != "PresenceUnknown"
}

// setLayout changes a screen's layout as an administrator does.
func setLayout(t *testing.T, h *harness, id, layout string) {
	t.Helper()
	sc, err := h.store.Screen(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	set := sc.Settings
	set.Layout = layout
	if _, err := h.m.SetSettings(t.Context(), id, set, "test"); err != nil {
		t.Fatal(err)
	}
}

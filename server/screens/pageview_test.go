package screens_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/screens"
)

// viewOnly registers a screen that never connects: its browser only loads
// its page (no WebAssembly).
func (h *harness) viewOnly(name string) string {
	h.t.Helper()
	sc, _, err := h.m.Open(context.Background(), name, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return sc.ID
}

// view loads the screen's page once, as the edge server does for a
// request, and returns what the page shows.
func (h *harness) view(id string) wire.State {
	h.t.Helper()
	st, err := h.m.State(context.Background(), id, 5*time.Second)
	if err != nil {
		h.t.Fatalf("viewing %s: %v", id, err)
	}
	return st
}

// viewUntil loads the page every period until ok, failing after within.
func (h *harness) viewUntil(id string, period, within time.Duration, what string, ok func(wire.State) bool) wire.State {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := h.view(id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("screen %s: no %s within %v of page loads (last %s)", id, what, within, st.Phase)
		}
		time.Sleep(period)
	}
}

func TestPageLoadsKeepTheCodeOfAScreenWithoutConnection(t *testing.T) {
	// The hold is long enough that a load delayed by a busy machine still
	// comes within it.
	const hold = 2 * time.Second
	// The grace after a connection (50 ms) is far shorter than the time
	// between two loads: only the loads hold the session.
	h := newHarness(t, func(c *screens.Config) { c.ViewHold = hold })
	id := h.viewOnly("Old TV")
	first := h.viewUntil(id, 100*time.Millisecond, 10*time.Second, "code", func(st wire.State) bool { return st.Phase == wire.PhaseCode })
	// Loads every half hold for three holds: many grace periods long.
	for end := time.Now().Add(3 * hold); time.Now().Before(end); time.Sleep(hold / 2) {
		st := h.view(id)
		if st.Phase != wire.PhaseCode {
			t.Fatalf("a reload showed %s, want the code %s", st.Phase, first.Code.UserCode)
		}
		if st.Code.UserCode != first.Code.UserCode {
			t.Fatalf("a reload showed the code %s, want %s", st.Code.UserCode, first.Code.UserCode)
		}
	}
	if n := h.sb.Requests("devicecode"); n != 1 {
		t.Errorf("%d device codes asked for, want 1", n)
	}

	// Once the page is no longer loaded, the session ends after the hold.
	ctx, cancel := context.WithTimeout(t.Context(), hold+10*time.Second)
	defer cancel()
	if _, err := screens.AwaitActive(ctx, h.m, func(n int) bool { return n == 0 }); err != nil {
		t.Fatal("the session of a screen no longer loaded did not end")
	}
}

func TestPageLoadsKeepTheAccountWatchedAndShowItsChanges(t *testing.T) {
	const hold = 2 * time.Second
	h := newHarness(t, func(c *screens.Config) {
		c.ViewHold = hold
		c.PollEvery = 100 * time.Millisecond
	})
	id := h.viewOnly("Old TV")
	code := h.viewUntil(id, 100*time.Millisecond, 10*time.Second, "code", func(st wire.State) bool { return st.Phase == wire.PhaseCode }).Code.UserCode
	if out := h.sb.Approve(code, "ada@placard.example"); out != "approved" {
		t.Fatalf("approving %s: %s", code, out)
	}
	// The sign-in goes on between loads, with no connection.
	h.viewUntil(id, hold/2, 20*time.Second, "dashboard", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil
	})
	if n := h.m.Watches(); n != 1 {
		t.Fatalf("%d accounts watched, want Ada's", n)
	}
	if err := h.sb.SetPresence("ada@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	h.viewUntil(id, hold/2, 10*time.Second, "new presence", func(st wire.State) bool {
		if st.Phase != wire.PhaseDashboard {
			t.Fatalf("a reload of the dashboard showed %s", st.Phase)
		}
		return st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
	})
	if n := h.m.Watches(); n != 1 {
		t.Errorf("%d accounts watched after the reloads, want Ada's", n)
	}
}

func TestAPageLoadRecordsWhenTheScreenWasSeen(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	h := newHarness(t, func(c *screens.Config) {
		c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	})
	id := h.viewOnly("Old TV")
	clock.Add(int64(2 * time.Hour))
	h.view(id)
	sc, err := h.store.Screen(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(0, clock.Load()); sc.LastSeen.Sub(want).Abs() > time.Second {
		t.Errorf("last seen %v, want the page load's %v", sc.LastSeen, want)
	}
}

func TestAPageLoadHoldsTheSessionBeyondTheGraceOfItsOldConnection(t *testing.T) {
	// A reload: the new page is asked for while the old page is still
	// connected, its WebSocket closes, and the new page's Wasm connects
	// later than the grace after a connection (50 ms).
	h := newHarness(t, func(c *screens.Config) { c.ViewHold = time.Minute })
	id := h.screen("Lobby TV")
	code := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode
	h.view(id)
	h.m.Detach(id)
	time.Sleep(500 * time.Millisecond)
	if err := h.m.Attach(t.Context(), id, screens.Hello{}); err != nil {
		t.Fatal(err)
	}
	if again := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode; again != code {
		t.Errorf("the reloaded page shows a new code: %s then %s", code, again)
	}
}

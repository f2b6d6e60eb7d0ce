package screens_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/screens"
)

func TestReloadSettingsReachesAScreenThatIsShown(t *testing.T) {
	h := newHarness(t)
	id := h.screen("Hall")
	st := h.waitPhase(id, 10*time.Second, wire.PhaseCode)
	if st.Screen.Lang != "en" || st.Screen.Privacy {
		t.Fatalf("a new screen has %+v, want English without privacy", st.Screen)
	}
	ctx := context.Background()
	if _, err := h.store.UpdateScreen(ctx, id, func(sc *server.Screen) error {
		sc.Settings = server.ScreenSettings{TimeZone: "Europe/Paris", Clock24: true, Lang: "fr", Privacy: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(ctx, id); err != nil {
		t.Fatal(err)
	}
	st = h.wait(id, 5*time.Second, "the new settings", func(st wire.State) bool { return st.Screen.Lang == "fr" })
	want := wire.Screen{Name: "Hall", TimeZone: "Europe/Paris", Clock24: true, Lang: "fr", Privacy: true}
	if st.Screen != want {
		t.Errorf("screen settings %+v, want %+v", st.Screen, want)
	}
	if st.Phase != wire.PhaseCode {
		t.Errorf("reloading settings moved the screen to %s", st.Phase)
	}
}

func TestScreenDimsOutsideItsHoursAndWakesByItself(t *testing.T) {
	y, mo, d := time.Now().UTC().Date()
	var clock atomic.Int64
	clock.Store(time.Date(y, mo, d, 6, 58, 0, 0, time.UTC).UnixNano())
	h := newHarness(t, func(c *screens.Config) {
		c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		c.HoursEvery = 20 * time.Millisecond
		c.TimeZone = "UTC"
	})
	id := h.screen("Reception")
	h.waitPhase(id, 10*time.Second, wire.PhaseCode)
	ctx := context.Background()
	if _, err := h.store.UpdateScreen(ctx, id, func(sc *server.Screen) error {
		sc.Settings.Hours = "07:00-19:00"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReloadSettings(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.wait(id, 5*time.Second, "the screen asleep at 06:58", func(st wire.State) bool { return st.Screen.Asleep })

	clock.Add(int64(3 * time.Minute))
	h.wait(id, 5*time.Second, "the screen awake at 07:01, by itself", func(st wire.State) bool { return !st.Screen.Asleep })
}

package screens_test

import (
	"context"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
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

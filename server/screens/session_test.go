package screens_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/screens"
)

func TestSignInStopsWhenTheScreenGoesAway(t *testing.T) {
	h := newHarness(t)
	before := runtime.NumGoroutine()
	id := h.screen("Lobby TV")
	h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	h.m.Detach(id)

	deadline := time.Now().Add(5 * time.Second)
	for h.m.Active() > 0 || runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("after the screen left: %d sessions, %d goroutines (%d before)\n%s",
				h.m.Active(), runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReconnectWithinGraceKeepsTheCode(t *testing.T) {
	h := newHarness(t, func(c *screens.Config) { c.Grace = time.Minute })
	id := h.screen("Hall")
	first := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode
	h.m.Detach(id)
	if err := h.m.Attach(t.Context(), id, screens.Hello{}); err != nil {
		t.Fatal(err)
	}
	again := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode
	if again != first {
		t.Errorf("reconnecting showed a new code: %s then %s", first, again)
	}
}

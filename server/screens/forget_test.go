package screens_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/screens"
)

func TestWaitingScreensGoneForAWeekAreForgotten(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	h := newHarness(t, func(c *screens.Config) {
		c.AutoEnroll = false
		c.Now = func() time.Time { return time.Unix(0, now.Load()).UTC() }
	})
	ctx := context.Background()
	gone, _, err := h.m.Open(ctx, "Gone", nil)
	if err != nil {
		t.Fatal(err)
	}
	shown := h.screen("Still waiting")
	enrolled, _, _ := h.m.Open(ctx, "Enrolled", nil)
	if _, err := h.m.Approve(ctx, enrolled.ID, "test"); err != nil {
		t.Fatal(err)
	}

	if n := h.m.ForgetWaitingScreens(ctx); n != 0 {
		t.Fatalf("a sweep on day one forgot %d screens", n)
	}
	now.Add(int64(8 * 24 * time.Hour))
	if n := h.m.ForgetWaitingScreens(ctx); n != 1 {
		t.Fatalf("forgot %d screens, want the one waiting screen nobody shows", n)
	}
	if _, err := h.store.Screen(ctx, gone.ID); err == nil {
		t.Error("the waiting screen gone for a week is still stored")
	}
	for _, id := range []string{shown, enrolled.ID} {
		if _, err := h.store.Screen(ctx, id); err != nil {
			t.Errorf("screen %s was forgotten: %v", id, err)
		}
	}
}

// clock is a test's clock for Config.Now.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestAWaitingScreenThatStaysConnectedIsSeen(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	h := newHarness(t, func(c *screens.Config) {
		c.AutoEnroll = false
		c.Now = clk.now
		c.SeenEvery = 20 * time.Millisecond
	})
	updated := make(chan server.Screen, 16)
	h.hooks.mu.Lock()
	h.hooks.updated = updated
	h.hooks.mu.Unlock()
	id := h.screen("Lobby TV")
	clk.advance(8 * 24 * time.Hour)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case sc := <-updated:
			if sc.ID == id && sc.LastSeen.Equal(clk.now()) {
				return
			}
		case <-deadline:
			t.Fatal("a screen connected for 8 days was not recorded as seen meanwhile: a restart would find it gone for a week")
		}
	}
}

func TestAScreenIsSeenWhenItDisconnects(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	h := newHarness(t, func(c *screens.Config) {
		c.AutoEnroll = false
		c.Now = clk.now
	})
	id := h.screen("Lobby TV")
	clk.advance(3 * 24 * time.Hour)
	h.m.Detach(id)
	sc, err := h.store.Screen(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.LastSeen.Equal(clk.now()) {
		t.Errorf("last seen %v after it disconnected at %v", sc.LastSeen, clk.now())
	}
}

func TestNoScreenIsForgottenInTheFirstHourAfterAStart(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	h := newHarness(t, func(c *screens.Config) {
		c.AutoEnroll = false
		c.Now = clk.now
	})
	ctx := context.Background()
	// Connected when the server stopped, a week ago; it reconnects soon.
	stale := server.Screen{ID: "sstale", Name: "Lobby TV", SecretHash: []byte("x"), PairingNumber: "123456",
		CreatedAt: clk.now().Add(-30 * 24 * time.Hour), LastSeen: clk.now().Add(-8 * 24 * time.Hour)}
	if err := h.store.CreateScreen(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if n := h.m.ForgetWaitingScreens(ctx); n != 0 {
		t.Fatalf("a sweep at start forgot %d screens, before any could reconnect", n)
	}
	clk.advance(61 * time.Minute)
	if n := h.m.ForgetWaitingScreens(ctx); n != 1 {
		t.Errorf("an hour after start a sweep forgot %d screens, want the one gone for a week", n)
	}
}

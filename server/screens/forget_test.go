package screens_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

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

package screens_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/screens"
)

func TestTheTwentyFirstCodeInAMinuteIsRefused(t *testing.T) {
	h := newHarness(t)
	ids := make([]string, 21)
	for i := range ids {
		ids[i] = h.screen(fmt.Sprintf("Screen %02d", i+1))
	}
	start := time.Now()
	var limited []string
	var limitedState wire.State
	for _, id := range ids {
		st := h.wait(id, 10*time.Second, "a code or a refusal", func(st wire.State) bool {
			return st.Phase == wire.PhaseCode || st.Phase == wire.PhaseError
		})
		if st.Phase == wire.PhaseError {
			limited = append(limited, id)
			limitedState = st
		}
	}
	if len(limited) != 1 {
		t.Fatalf("%d screens were refused a code, want exactly 1 of 21", len(limited))
	}
	if n := h.sb.Requests("devicecode"); n != 20 {
		t.Errorf("the identity platform received %d device-code requests, want 20", n)
	}
	p := limitedState.Problem
	if p.Kind != wire.ProblemRateLimited {
		t.Errorf("the refused screen shows %q, want %q", p.Kind, wire.ProblemRateLimited)
	}
	// It backs off until the first request of the minute leaves the
	// window: no retry storm against the identity platform.
	if wait := p.Retry.Sub(start); wait < 55*time.Second {
		t.Errorf("the refused screen retries after %v, want about a minute", wait)
	}
	events, _ := h.store.Audit(t.Context(), 50)
	if !hasEvent(events, server.AuditCodeRefused, limited[0], "20 per 1m0s for all screens") {
		t.Errorf("the refusal is not in the audit trail with its reason: %+v", events)
	}
}

func TestAScreenThatAsksTooOftenIsHeldBack(t *testing.T) {
	h := newHarness(t, func(c *screens.Config) { c.CodesPerScreen = limit.Rate{Max: 2, Per: time.Hour} })
	id := h.screen("Door 3")
	for range 2 {
		code := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode
		h.sb.Decline(code)
		h.waitPhase(id, 10*time.Second, wire.PhaseError)
	}
	st := h.wait(id, 10*time.Second, "a refusal", func(st wire.State) bool {
		return st.Phase == wire.PhaseError && st.Problem.Kind == wire.ProblemRateLimited
	})
	if wait := time.Until(st.Problem.Retry); wait < 50*time.Minute {
		t.Errorf("the screen retries in %v, want when its first code of the hour leaves the window", wait)
	}
	if n := h.sb.Requests("devicecode"); n != 2 {
		t.Errorf("%d device-code requests, want 2", n)
	}
	// Another screen is not held back by this one's limit.
	other := h.screen("Door 4")
	h.waitPhase(other, 5*time.Second, wire.PhaseCode)
}

func TestAllowCodeSaysWhichLimitAndWhen(t *testing.T) {
	h := newHarness(t, func(c *screens.Config) {
		c.CodesPerScreen = limit.Rate{Max: 1, Per: time.Minute}
		c.CodesTotal = limit.Rate{Max: 2, Per: time.Minute}
	})
	if err := h.m.AllowCode("a"); err != nil {
		t.Fatal(err)
	}
	err := h.m.AllowCode("a")
	var le *screens.CodeLimitError
	if !errors.As(err, &le) || server.ErrorCode(err) != server.ETOOMANY || !strings.Contains(err.Error(), "this screen asked for 1 per 1m0s") {
		t.Fatalf("second code of a screen: %v", err)
	}
	if err := h.m.AllowCode("b"); err != nil {
		t.Fatal(err)
	}
	err = h.m.AllowCode("c")
	if !strings.Contains(fmt.Sprint(err), "2 per 1m0s for all screens") || !strings.Contains(fmt.Sprint(err), "may be asked for at") {
		t.Fatalf("third code in total: %v", err)
	}
	// The refusal by the total did not use c's own allowance.
	h2 := newHarness(t, func(c *screens.Config) {
		c.CodesPerScreen = limit.Rate{Max: 1, Per: time.Minute}
		c.CodesTotal = limit.Rate{Max: 0, Per: time.Minute}
	})
	h2.m.AllowCode("c")
	if n := fmt.Sprint(h2.m.AllowCode("c")); !strings.Contains(n, "for all screens") {
		t.Errorf("a refusal by the total counted against the screen: %s", n)
	}
}

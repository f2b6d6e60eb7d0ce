package screens_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

func TestSignInStopsWhenTheScreenGoesAway(t *testing.T) {
	h := newHarness(t)
	before, running := runtime.NumGoroutine(), screens.Running(h.m)
	id := h.screen("Lobby TV")
	h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	h.m.Detach(id)
	// The session ends after its grace, and the manager's goroutines with
	// it; then no goroutine of the sign-in is left either.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if n, err := screens.AwaitActive(ctx, h.m, func(n int) bool { return n == 0 }); err != nil {
		t.Fatalf("%d sessions after the screen left", n)
	}
	if n, err := screens.AwaitRunning(ctx, h.m, func(n int) bool { return n <= running }); err != nil {
		t.Fatalf("%d of the manager's goroutines run after the screen left, %d before", n, running)
	}
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

func TestANewCodeReplacesTheOldOneBeforeItExpires(t *testing.T) {
	// A 2 s code is replaced a fifth of its life before it expires.
	h := newHarnessOn(t, sandbox.Options{CodeLifetime: 2 * time.Second})
	id := h.screen("Lobby TV")
	first := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code
	next := h.wait(id, 10*time.Second, "another code", func(st wire.State) bool {
		if st.Phase != wire.PhaseCode {
			t.Fatalf("between two codes the screen showed %s %+v", st.Phase, st.Problem)
		}
		return st.Code.UserCode != first.UserCode
	})
	if now := time.Now(); !now.Before(first.ExpiresAt) {
		t.Errorf("the new code came %v after the old one expired", now.Sub(first.ExpiresAt))
	}
	if !next.Code.ExpiresAt.After(first.ExpiresAt) || next.Code.QR.Path == "" {
		t.Errorf("the new code %+v does not outlive the old one (%v) or has no QR", next.Code, first.ExpiresAt)
	}
	if n := h.sb.Requests("devicecode"); n != 2 {
		t.Errorf("%d device codes asked for, want 2", n)
	}
}

func TestABlockedScreenWaitsLongBeforeAskingAgain(t *testing.T) {
	h := newHarness(t)
	h.sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
	id := h.screen("Lobby TV")
	code := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode
	if out := h.sb.Approve(code, "ada@placard.example"); out != sandbox.OutcomeBlocked {
		t.Fatalf("approving under a block: %s", out)
	}
	st := h.waitPhase(id, 10*time.Second, wire.PhaseError)
	if st.Problem.Kind != wire.ProblemBlocked || st.Problem.Code != "AADSTS53003" {
		t.Errorf("problem %+v, want blocked with AADSTS53003", st.Problem)
	}
	// Not the few seconds of a decline: a blocked screen must not keep
	// asking the identity platform for codes a policy refuses.
	if wait := time.Until(st.Problem.Retry); wait < 5*time.Minute-time.Second {
		t.Errorf("a blocked screen tries again in %v, want 5 minutes or more", wait)
	}
	if n := h.sb.Requests("devicecode"); n != 1 {
		t.Errorf("%d device codes asked for, want the one that was blocked", n)
	}
}

// stopAfterSignIn is a store on which the screen goes away just after its
// sign-in is recorded, before the manager shows the account.
type stopAfterSignIn struct {
	server.Store
	stop func()
}

func (s *stopAfterSignIn) UpdateScreen(ctx context.Context, id string, f func(*server.Screen) error) (server.Screen, error) {
	sc, err := s.Store.UpdateScreen(ctx, id, f)
	if err == nil && sc.AccountID != "" && s.stop != nil {
		s.stop()
		s.stop = nil
	}
	return sc, err
}

func TestAScreenGoneAsItsSignInEndsLeavesNoPollBehind(t *testing.T) {
	store := &stopAfterSignIn{}
	h := newHarness(t, func(c *screens.Config) {
		store.Store = c.Store
		c.Store = store
	})
	id := h.screen("Lobby TV")
	gone := make(chan struct{})
	store.stop = func() {
		defer close(gone)
		h.m.Detach(id)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := screens.AwaitActive(ctx, h.m, func(n int) bool { return n == 0 }); err != nil {
			t.Error("the session did not end after its screen left")
		}
	}
	code := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode
	if out := h.sb.Approve(code, "ada@placard.example"); out != sandbox.OutcomeApproved {
		t.Fatalf("approving: %s", out)
	}
	select {
	case <-gone:
	case <-time.After(15 * time.Second):
		t.Fatal("the sign-in was never recorded")
	}
	h.m.Close() // waits for the sign-in to finish
	if n := h.m.Watches(); n != 0 {
		t.Errorf("%d accounts still polled for a screen that is gone", n)
	}
	// The sign-in is kept: the screen shows the account when it is back.
	if sc, err := h.store.Screen(context.Background(), id); err != nil || sc.AccountID == "" {
		t.Errorf("the sign-in was lost: %+v %v", sc, err)
	}
}

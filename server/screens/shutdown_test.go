package screens_test

import (
	"context"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// closeDuring has the manager begin to close at the hook, and waits until
// every session's context has ended before the write goes on.
func closeDuring(h *harness) func(context.Context) {
	return func(context.Context) {
		go h.m.Close()
		<-screens.Stopping(h.m)
	}
}

func TestASignInIsRecordedWholeWhenTheServerStopsMeanwhile(t *testing.T) {
	h := newHarness(t)
	id := h.screen("Lobby TV")
	code := h.waitPhase(id, 10*time.Second, wire.PhaseCode).Code.UserCode
	// The tokens are saved; the server begins to stop before the account
	// is recorded.
	h.hooks.beforePutAccount = closeDuring(h)
	if out := h.sb.Approve(code, "ada@placard.example"); out != sandbox.OutcomeApproved {
		t.Fatalf("approving: %s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awaitStopping(ctx, t, h)
	h.m.Close() // waits for the sign-in to finish

	sc, err := h.store.Screen(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sc.AccountID == "" {
		t.Fatal("the screen does not name the account its sign-in saved tokens for")
	}
	if _, err := h.store.Account(ctx, sc.AccountID); err != nil {
		t.Errorf("the account is not stored: %v", err)
	}
	if _, err := h.store.TokenCache(ctx, sc.AccountID); err != nil {
		t.Errorf("the account's tokens are not stored: %v", err)
	}
}

func TestARevokedAccountIsEndedWholeWhenTheServerStopsMeanwhile(t *testing.T) {
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby TV")
	h.signIn(id, "ada@placard.example")
	acct := accountOf(t, h, id)
	// The refresh is refused; the server begins to stop as the account's
	// tokens are being deleted.
	h.hooks.beforeDeleteTokens = closeDuring(h)
	if err := h.sb.Revoke("ada@placard.example"); err != nil {
		t.Fatal(err)
	}
	h.sb.Advance(2 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awaitStopping(ctx, t, h)
	h.m.Close() // waits for the account's end to finish

	if _, err := h.store.TokenCache(ctx, acct); !server.IsNotFound(err) {
		t.Errorf("the revoked account's tokens are still stored: %v", err)
	}
	if _, err := h.store.Account(ctx, acct); !server.IsNotFound(err) {
		t.Errorf("the revoked account is still stored: %v", err)
	}
	if sc, err := h.store.Screen(ctx, id); err != nil || sc.AccountID != "" {
		t.Errorf("the screen still shows the revoked account: %q, %v", sc.AccountID, err)
	}
}

// awaitStopping waits until the manager begins to close, failing the test
// when ctx ends first.
func awaitStopping(ctx context.Context, t *testing.T, h *harness) {
	t.Helper()
	select {
	case <-screens.Stopping(h.m):
	case <-ctx.Done():
		t.Fatal("the hook never ran")
	}
}

func TestASignOutAfterCloseShowsNothingAndStartsNothing(t *testing.T) {
	h := newHarness(t)
	id := h.screen("Lobby TV")
	h.signIn(id, "ada@placard.example")
	h.m.Close()
	if n := screens.Running(h.m); n != 0 {
		t.Fatalf("%d goroutines of the manager run after Close", n)
	}
	for len(h.pub.states(id)) > 0 {
		<-h.pub.states(id)
	}
	// A screen's sign-out handled while the server stops.
	if _, err := h.m.SignOut(context.Background(), id, "screen"); err != nil {
		t.Fatal(err)
	}
	if n := screens.Running(h.m); n != 0 {
		t.Errorf("a sign-out after Close started %d goroutines", n)
	}
	select {
	case st := <-h.pub.states(id):
		t.Errorf("a sign-out after Close changed the screen to %s: its session has ended", st.Phase)
	default:
	}
}

package screens_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// follower records what a watch tells it.
type follower chan server.Presence

func (f follower) Presence(p server.Presence) {
	select {
	case f <- p:
	default:
		panic("a follower's channel is full")
	}
}

func (f follower) await(t *testing.T, within time.Duration, what string, ok func(server.Presence) bool) server.Presence {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case p := <-f:
			if ok(p) {
				return p
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, within)
		}
	}
}

func follow(t *testing.T, h *harness, upn string) (follower, func()) {
	t.Helper()
	f := make(follower, 256)
	stop, err := h.m.Follow(context.Background(), sandbox.AccountID(upn), f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return f, stop
}

// awaitNoSession waits for the sessions of detached screens to end (their
// grace is 50 ms).
func awaitNoSession(t *testing.T, h *harness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if n, err := screens.AwaitActive(ctx, h.m, func(n int) bool { return n == 0 }); err != nil {
		t.Fatalf("%d sessions still run", n)
	}
}

func fastFollow(c *screens.Config) { c.FollowEvery = 100 * time.Millisecond }

func TestAFollowedAccountIsPolledWithNoScreenAndOnlyForPresence(t *testing.T) {
	h := newHarness(t, fastFollow)
	id := h.screen("Lobby TV")
	h.signIn(id, "grace@placard.example")
	f, stop := follow(t, h, "Grace@Placard.example")
	h.m.Detach(id)
	awaitNoSession(t, h)
	// The screen is gone: only the follower keeps the account's watch.
	f.await(t, 5*time.Second, "Grace's presence", func(p server.Presence) bool {
		return p.SignedIn && !p.Stale && p.Availability == "Busy"
	})
	calendar := h.sb.RequestCounts()["graph /me/calendarView"]
	if err := h.sb.SetPresence("grace@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	p := f.await(t, 5*time.Second, "the new presence", func(p server.Presence) bool { return p.Activity == "Presenting" })
	if p.Availability != "DoNotDisturb" || p.Updated.IsZero() {
		t.Errorf("told %+v", p)
	}
	if n := h.sb.RequestCounts()["graph /me/calendarView"]; n != calendar {
		t.Errorf("%d calendar reads for an account no screen shows", n-calendar)
	}
	if h.m.Watches() != 1 {
		t.Fatalf("%d watches, want the followed account's", h.m.Watches())
	}
	stop()
	if h.m.Watches() != 0 {
		t.Errorf("%d watches after the last follower stopped (%d sessions)", h.m.Watches(), h.m.Active())
	}
}

func TestAnAccountSignedInNowhereIsFollowedAsSignedOut(t *testing.T) {
	h := newHarness(t, fastFollow)
	f, _ := follow(t, h, "ada@placard.example")
	if p := <-f; p.SignedIn || p.Availability != "PresenceUnknown" {
		t.Fatalf("an account signed in nowhere: %+v", p)
	}
	id := h.screen("Desk")
	h.signIn(id, "ada@placard.example")
	f.await(t, 5*time.Second, "Ada signed in", func(p server.Presence) bool { return p.SignedIn && !p.Stale })
	if _, err := h.m.SignOut(context.Background(), id, "test"); err != nil {
		t.Fatal(err)
	}
	f.await(t, 5*time.Second, "Ada signed out", func(p server.Presence) bool { return !p.SignedIn })
	if h.m.Watches() != 0 {
		t.Errorf("%d watches of an account signed out everywhere", h.m.Watches())
	}
}

func TestManyFollowedAccountsStayWithinThePresenceBudget(t *testing.T) {
	const users = 6
	budget := limit.Rate{Max: 8, Per: 2 * time.Second} // placard uses 4 per 2 s
	h := newHarnessOn(t, sandbox.Options{NumberedUsers: users}, fastFollow, func(c *screens.Config) {
		c.PresenceBudget = budget
	})
	var followers []follower
	for i := 1; i <= users; i++ {
		upn := fmt.Sprintf("user%04d@placard.example", i)
		id := h.screen("Desk " + upn)
		h.signIn(id, upn)
		f, _ := follow(t, h, upn)
		h.m.Detach(id)
		followers = append(followers, f)
	}
	awaitNoSession(t, h)
	start := time.Now()
	time.Sleep(3 * budget.Per) // what is measured is the pace over time
	sent := h.sent.of("/v1.0/$batch")
	var polls []time.Time
	for _, e := range sent {
		if e.sent.After(start) {
			polls = append(polls, e.sent)
		}
	}
	// Each poll is one $batch with one presence request. Any window of
	// budget.Per holds at most half the budget (a little slack for the
	// time between the gate and the transport).
	half := budget.Max / 2
	for i := 0; i+half < len(polls); i++ {
		if gap := polls[i+half].Sub(polls[i]); gap < budget.Per-150*time.Millisecond {
			t.Fatalf("%d presence requests within %v: over half the budget of %v", half+1, gap, budget)
		}
	}
	// Evenly: every followed account was read in that time.
	if len(polls) < 2*half {
		t.Errorf("%d polls in %v, want the budget used (%d per %v)", len(polls), 3*budget.Per, half, budget.Per)
	}
	for i, f := range followers {
		select {
		case <-f:
		default:
			t.Errorf("follower %d was told nothing", i+1)
		}
	}
}

package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/screens"
)

func TestManyFollowedAccountsStayUnderThePresenceBudgetInTheSandboxsCount(t *testing.T) {
	t.Parallel()
	const users = 8
	// Graph's limit here: 10 per 3 s, so placard may make 5 per 3 s: far
	// less than 8 accounts at 100 ms would ask.
	budget := limit.Rate{Max: 10, Per: 3 * time.Second}
	m := testServer(t, func(m *Main) {
		m.Config.SandboxUsers = users
		tune := m.Tune
		m.Tune = func(c *screens.Config) {
			tune(c)
			c.FollowEvery = 100 * time.Millisecond
			c.PresenceBudget = budget
		}
	})
	admin := newToken(t, m)
	for i := 1; i <= users; i++ {
		upn := fmt.Sprintf("user%04d@placard.example", i)
		signedIn(t, m, upn)
		addLight(t, m, admin, fmt.Sprintf(`{"name":"light-%d","account":"%s"}`, i, upn))
	}
	presence := func() int { return m.Sandbox.RequestCounts()["graph /me/presence"] }
	// Let the sign-ins' own polls leave the window, then count what the
	// sandbox received in consecutive windows.
	time.Sleep(budget.Per)
	total := 0
	for w := range 3 {
		before := presence()
		time.Sleep(budget.Per)
		n := presence() - before
		total += n
		// One more than half may straddle a window's edge (the sandbox
		// counts on arrival, placard's gate on departure).
		if n > budget.Max/2+1 {
			t.Errorf("window %d: the sandbox counted %d presence requests in %v, over half the budget (%d)", w+1, n, budget.Per, budget.Max/2)
		}
	}
	if total < budget.Max/2*2 {
		t.Errorf("%d presence requests in 3 windows: the budget should be used, not starved", total)
	}
}

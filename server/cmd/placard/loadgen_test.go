package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/placard/placard/server/internal/loadgen"
	"github.com/placard/placard/server/screens"
)

// TestLoadGeneratorBringsScreensToTheirDashboards keeps the load generator
// of `make bench` working: 200 screens, each from its own address, sign in
// through the phone page to 10 numbered accounts (20 screens each), and a
// presence change reaches every screen of its account.
func TestLoadGeneratorBringsScreensToTheirDashboards(t *testing.T) {
	const count, accounts = 200, 10
	m := testServer(t, func(m *Main) {
		m.Config.SandboxUsers = accounts
		m.Config.CodesPerMinute = 10 * count
		tune := m.Tune
		m.Tune = func(c *screens.Config) {
			tune(c)
			c.PollEvery = time.Second // the change is seen within a second
		}
	})
	upns := make([]string, accounts)
	for i := range upns {
		upns[i] = fmt.Sprintf("user%04d@placard.example", i+1)
	}
	fleet, err := loadgen.New(loadgen.Config{URL: m.URL, Accounts: upns, Prefix: "gen", Parallel: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := fleet.Grow(ctx, count); err != nil {
		t.Fatal(err)
	}
	all := fleet.Screens()
	if len(all) != count {
		t.Fatalf("%d screens, want %d", len(all), count)
	}
	addrs := map[string]bool{}
	for _, s := range all {
		addrs[s.Addr().String()] = true
		if a, _ := s.Availability(); a == "" || s.SignedInAt.IsZero() {
			t.Fatalf("screen %s shows no presence after signing in", s.Name)
		}
	}
	if len(addrs) != count {
		t.Errorf("%d client addresses for %d screens, want one each", len(addrs), count)
	}
	if n := m.Screens.Watches(); n != accounts {
		t.Errorf("%d accounts polled, want %d: one poll per account however many screens show it", n, accounts)
	}

	// A presence change reaches every screen of that account, and no other.
	if err := m.Sandbox.SetPresence(upns[3], "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	var mine, others []*loadgen.Screen
	for _, s := range all {
		if s.Account == upns[3] {
			mine = append(mine, s)
		} else {
			others = append(others, s)
		}
	}
	if _, err := loadgen.AwaitAvailability(ctx, mine, "DoNotDisturb"); err != nil {
		t.Fatal(err)
	}
	for _, s := range others {
		if a, _ := s.Availability(); a == "DoNotDisturb" {
			t.Errorf("screen %s of %s shows %q after another account changed", s.Name, s.Account, a)
		}
	}
	for _, s := range all {
		if err := s.Dropped(); err != nil {
			t.Errorf("screen %s dropped: %v", s.Name, err)
		}
	}
}

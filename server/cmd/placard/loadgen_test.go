package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/internal/loadgen"
	"github.com/placard/placard/server/screens"
)

// TestLoadGeneratorBringsScreensToTheirDashboards keeps the load generator
// of `make bench` working: 200 screens, each from its own address, sign in
// through the phone page to 10 numbered accounts (20 screens each), and a
// presence change reaches every screen of its account.
func TestLoadGeneratorBringsScreensToTheirDashboards(t *testing.T) {
	t.Parallel()
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
	fleet := signedInFleet(t, m, accounts, count, "gen", 50)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
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
	const fourth = "user0004@placard.example"
	if err := m.Sandbox.SetPresence(fourth, "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	var mine, others []*loadgen.Screen
	for _, s := range all {
		if s.Account == fourth {
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

// TestLoadGeneratorUsesAStandaloneSandboxAsTheTenant keeps `make bench`'s
// set-up working: the edge server uses `placard sandbox` as its tenant
// (so that the emulated Microsoft's work is not counted as the edge
// server's), screens enroll with a provisioning link, as kiosks do where
// an administrator approves screens, and their codes are approved on the
// sandbox's own phone page, over HTTPS.
func TestLoadGeneratorUsesAStandaloneSandboxAsTheTenant(t *testing.T) {
	const count, accounts = 30, 3
	sb := startSandbox(t, "-users", strconv.Itoa(accounts))
	m := testServer(t, pointedAt(sb), manualEnroll, func(m *Main) {
		m.Config.CodesPerMinute = 10 * count
		tune := m.Tune
		m.Tune = func(c *screens.Config) {
			tune(c)
			c.PollEvery = time.Second
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	g, err := m.Ops.CreateGroup(ctx, cliActor(), admin.GroupSpec{Name: "Bench"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := m.Ops.MakeLink(ctx, cliActor(), admin.LinkSpec{Group: g.Group.ID, MaxScreens: count, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(sb.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	upns := []string{"user0001@placard.example", "user0002@placard.example", "user0003@placard.example"}
	fleet, err := loadgen.New(loadgen.Config{URL: m.URL, Accounts: upns, Prefix: "tenant", Parallel: count,
		Sandbox: sb.URL, SandboxRoots: roots, Link: link.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Close)
	if err := fleet.Grow(ctx, count); err != nil {
		t.Fatal(err)
	}
	all, err := m.Store.Screens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		if !sc.Enrolled || sc.Group != g.Group.ID {
			t.Errorf("screen %s: enrolled %v in group %q, want enrolled by the link into %s", sc.Name, sc.Enrolled, sc.Group, g.Group.ID)
		}
	}
	if len(all) != count {
		t.Errorf("%d screens in the store, want %d", len(all), count)
	}
	if err := sb.ctl.SetPresence(ctx, upns[1], "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	var mine []*loadgen.Screen
	for _, s := range fleet.Screens() {
		if s.Account == upns[1] {
			mine = append(mine, s)
		}
	}
	if _, err := loadgen.AwaitAvailability(ctx, mine, "DoNotDisturb"); err != nil {
		t.Fatal(err)
	}
}

// TestLoadGeneratorScreensComeBackAfterARestart is a small reconnect
// storm, as `make bench` runs at 10,000 screens: 60 signed-in screens lose
// their server, which stops and starts again on the same address and data
// directory; each comes back by itself with the screens' backoff and its
// cookie, to its dashboard, and none is asked to sign in again.
func TestLoadGeneratorScreensComeBackAfterARestart(t *testing.T) {
	const count, accounts = 60, 6
	dir := filepath.Join(t.TempDir(), "data")
	tune := func(m *Main) {
		m.Config.SandboxUsers = accounts
		m.Config.CodesPerMinute = 10 * count
	}
	m := startOn(t, dir, "127.0.0.1:0", tune)
	fleet := signedInFleet(t, m, accounts, count, "back", count)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	screens := fleet.Screens()
	returns := make([]loadgen.Return, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i, s := range screens {
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		wg.Go(func() { returns[i], errs[i] = s.Reconnect(ctx, rng) })
	}
	stopped := time.Now()
	if err := m.Close(); err != nil {
		t.Fatalf("stopping the edge server: %v", err)
	}
	startOn(t, dir, strings.TrimPrefix(m.URL, "http://"), tune)
	wg.Wait()
	var last time.Duration
	for i, r := range returns {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.SignIn {
			t.Errorf("screen %s was asked to sign in again after the restart", screens[i].Name)
		}
		if r.Tries < 1 || !r.At.After(stopped) {
			t.Errorf("screen %s: %d tries, back at %v: want a try after the stop", screens[i].Name, r.Tries, r.At)
		}
		last = max(last, r.At.Sub(stopped))
	}
	t.Logf("%d screens back on their dashboards within %v of the stop", count, last.Round(time.Millisecond))
}

// signedInFleet brings count screens named prefix-N, parallel at once, to
// their dashboards, signed in to the sandbox's first accounts numbered
// users in turn.
func signedInFleet(t *testing.T, m *Main, accounts, count int, prefix string, parallel int) *loadgen.Fleet {
	t.Helper()
	upns := make([]string, accounts)
	for i := range upns {
		upns[i] = fmt.Sprintf("user%04d@placard.example", i+1)
	}
	fleet, err := loadgen.New(loadgen.Config{URL: m.URL, Accounts: upns, Prefix: prefix, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := fleet.Grow(ctx, count); err != nil {
		t.Fatal(err)
	}
	return fleet
}

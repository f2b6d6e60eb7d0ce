package screens_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// signIn shows a code on the screen and approves it as upn, then waits for
// the dashboard with its first Graph data.
func (h *harness) signIn(id, upn string) wire.State {
	h.t.Helper()
	code := h.waitPhase(id, 10*time.Second, wire.PhaseCode).Code.UserCode
	if out := h.sb.Approve(code, upn); out != sandbox.OutcomeApproved {
		h.t.Fatalf("approving %s as %s: %s", code, upn, out)
	}
	return h.wait(id, 15*time.Second, "dashboard with data", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && !st.Dashboard.Fresh.IsZero()
	})
}

func fastPolls(c *screens.Config) {
	c.PollEvery = 200 * time.Millisecond
	c.CalendarEvery = 200 * time.Millisecond
	c.ScheduleEvery = 200 * time.Millisecond
}

func TestDashboardShowsOnlyWhatTheAccountHas(t *testing.T) {
	h := newHarness(t)
	ada := h.signIn(h.screen("Lobby TV"), "ada@placard.example").Dashboard
	if ada.User.Name != "Ada Lovelace" || ada.User.Initials != "AL" {
		t.Errorf("user %+v", ada.User)
	}
	// The demo calendar has her in a meeting now, and Teams says so.
	if ada.Presence == nil || ada.Presence.Availability != "Busy" || ada.Presence.Activity != "InAMeeting" {
		t.Errorf("presence %+v, want Busy, InAMeeting", ada.Presence)
	}
	if ada.Agenda == nil || len(ada.Agenda.Today) == 0 {
		t.Errorf("agenda %+v: the demo calendar has meetings today", ada.Agenda)
	}
	if ada.Stale {
		t.Error("fresh data marked stale")
	}

	kim := h.signIn(h.screen("Kim's desk"), "kim@placard.example").Dashboard
	if kim.User.Name != "Kim Park" || kim.Presence != nil || kim.Agenda != nil || kim.Stale {
		t.Errorf("an account without mailbox and Teams: %+v; want her name and no presence or agenda panel, not stale", kim)
	}
}

func TestPresenceChangesArePushed(t *testing.T) {
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby TV")
	h.signIn(id, "grace@placard.example")
	if err := h.sb.SetPresence("grace@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	h.wait(id, 5*time.Second, "the new presence", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
	})
}

func TestAChangeOfPresenceShowsWithoutWaitingForTheCalendarsRound(t *testing.T) {
	// Presence and calendar fall due together. The first poll to read
	// the new presence has its calendar's delta round held until the test
	// ends: the presence it read shows meanwhile.
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby TV")
	h.signIn(id, "grace@placard.example")
	var changed, readIt atomic.Bool
	release := make(chan struct{})
	h.sent.mu.Lock()
	h.sent.before = func(r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/$batch") && changed.Load():
			readIt.Store(true) // answered after the change: it reads it
		case strings.HasSuffix(r.URL.Path, "/calendarView/delta") && readIt.Load():
			<-release
		}
	}
	h.sent.mu.Unlock()
	t.Cleanup(func() { close(release) })
	if err := h.sb.SetPresence("grace@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	changed.Store(true)
	h.wait(id, 5*time.Second, "new presence while the calendar's round is held", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
	})
}

func TestExpiredTokenIsRefreshedSilently(t *testing.T) {
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby TV")
	h.signIn(id, "ada@placard.example")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := h.sb.Requests("token")
	// Past the access token's life: Graph refuses it, and the poller
	// redeems the refresh token without anyone signing in again.
	h.sb.Advance(2 * time.Hour)
	if err := h.sb.AwaitRequests(ctx, "token", before+1); err != nil {
		t.Fatalf("no refresh after the token's expiry: %v", err)
	}
	// Polls go on with the new token, and the screen stays on its
	// dashboard, fresh.
	if err := h.sb.AwaitRequests(ctx, "graph /$batch", h.sb.Requests("graph /$batch")+2); err != nil {
		t.Fatalf("polls stopped after the refresh: %v", err)
	}
	for len(h.pub.states(id)) > 0 {
		if st := <-h.pub.states(id); st.Phase != wire.PhaseDashboard {
			t.Fatalf("the screen left its dashboard: %s %+v", st.Phase, st.Problem)
		}
	}
	st, err := h.m.State(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != wire.PhaseDashboard || st.Dashboard.Stale || st.Dashboard.User.Name != "Ada Lovelace" {
		t.Errorf("after the refresh the screen shows %s %+v", st.Phase, st.Dashboard)
	}
	if n := h.sb.Requests("devicecode"); n != 1 {
		t.Errorf("%d device codes asked for: a refresh must not sign in again", n)
	}
}

func TestRevokedAccountReturnsToSignInWithTheReason(t *testing.T) {
	h := newHarness(t, fastPolls)
	id := h.screen("Lobby TV")
	h.signIn(id, "ada@placard.example")
	acct := accountOf(t, h, id)
	if err := h.sb.Revoke("ada@placard.example"); err != nil {
		t.Fatal(err)
	}
	h.sb.Advance(2 * time.Hour)
	st := h.waitPhase(id, 10*time.Second, wire.PhaseError)
	if st.Problem.Kind != wire.ProblemRefreshFailed || st.Problem.Code != "AADSTS50173" || st.Problem.Retry.IsZero() {
		t.Errorf("problem %+v, want refresh_failed with AADSTS50173 and a retry", st.Problem)
	}
	h.waitPhase(id, 10*time.Second, wire.PhaseCode)

	ctx := context.Background()
	if _, err := h.store.TokenCache(ctx, acct); !server.IsNotFound(err) {
		t.Errorf("the revoked account's tokens are still stored: %v", err)
	}
	events, _ := h.store.Audit(ctx, 20)
	found := false
	for _, e := range events {
		found = found || (e.Kind == server.AuditRefreshFailed && e.Account == "ada@placard.example")
	}
	if !found {
		t.Errorf("no refresh_failed audit event in %+v", events)
	}
}

func TestThrottledPollWaitsRetryAfterThenRetriesOnce(t *testing.T) {
	// Graph throttles the requests inside a batch one by one (the batch
	// itself answers 200), so the statuses are read where the client
	// tells them, with when.
	var mu sync.Mutex
	var answers []struct {
		at     time.Time
		status int
	}
	h := newHarness(t, func(c *screens.Config) {
		c.PollEvery = 300 * time.Millisecond
		c.CalendarEvery = time.Hour
		c.Graph.Observe = func(_ string, status int) {
			mu.Lock()
			defer mu.Unlock()
			answers = append(answers, struct {
				at     time.Time
				status int
			}{time.Now(), status})
		}
	})
	id := h.screen("Lobby TV")
	h.signIn(id, "ada@placard.example")
	h.sb.SetFaults(sandbox.Faults{GraphThrottleSeconds: 2})
	stale := h.wait(id, 5*time.Second, "stale data", func(st wire.State) bool { return st.Dashboard != nil && st.Dashboard.Stale })
	h.sb.SetFaults(sandbox.Faults{})
	if stale.Dashboard.User.Name != "Ada Lovelace" || stale.Dashboard.Presence == nil || stale.Dashboard.Agenda == nil {
		t.Errorf("stale dashboard lost its data: %+v", stale.Dashboard)
	}
	h.wait(id, 5*time.Second, "fresh data", func(st wire.State) bool { return st.Dashboard != nil && !st.Dashboard.Stale })

	// From the first 429 to the first 200 after it: exactly one batch,
	// sent no sooner than Retry-After.
	mu.Lock()
	var throttled, recovered time.Time
	for _, a := range answers {
		switch {
		case throttled.IsZero() && a.status == http.StatusTooManyRequests:
			throttled = a.at
		case !throttled.IsZero() && a.status == http.StatusOK && recovered.IsZero():
			recovered = a.at
		}
	}
	mu.Unlock()
	if throttled.IsZero() || recovered.IsZero() {
		t.Fatalf("no 429 then 200 in %+v", answers)
	}
	var between []time.Time
	for _, b := range h.sent.of("/v1.0/$batch") {
		if b.sent.After(throttled) && !b.sent.After(recovered) {
			between = append(between, b.sent)
		}
	}
	if len(between) != 1 {
		t.Fatalf("%d batches sent between the 429 and recovery, want exactly one retry", len(between))
	}
	if waited := between[0].Sub(throttled); waited < 2*time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 2", waited)
	}
}

func TestScreensOfOneAccountShareOnePollAndOneRefresh(t *testing.T) {
	const every = 200 * time.Millisecond
	h := newHarness(t, func(c *screens.Config) {
		c.PollEvery = every
		c.CalendarEvery = time.Hour
	})
	var ids []string
	for _, name := range []string{"Door 1", "Door 2", "Door 3"} {
		id := h.screen(name)
		h.signIn(id, "lobby@placard.example")
		ids = append(ids, id)
	}
	if n := h.m.Watches(); n != 1 {
		t.Fatalf("%d watches for one account", n)
	}
	if n := h.sb.Requests("token"); n != 3 {
		t.Errorf("%d token requests, want the three sign-ins and no refresh", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Every poll is one $batch for the three screens: over a measured
	// time there are no more batches than ticks of one poller (three
	// pollers would make three times as many), and one poll's answer
	// reaches every screen.
	start, before := time.Now(), h.sb.Requests("graph /$batch")
	if err := h.sb.SetPresence("lobby@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		h.wait(id, 5*time.Second, "the new presence", func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
		})
	}
	if err := h.sb.AwaitRequests(ctx, "graph /$batch", before+5); err != nil {
		t.Fatal(err)
	}
	n, ticks := h.sb.Requests("graph /$batch")-before, int(time.Since(start)/every)+1
	if n > ticks {
		t.Errorf("%d Graph batches in %d polling periods for three screens of one account, want one per period", n, ticks)
	}

	// Past the access token's life, one refresh serves the three screens.
	tokens := h.sb.Requests("token")
	h.sb.Advance(2 * time.Hour)
	if err := h.sb.AwaitRequests(ctx, "token", tokens+1); err != nil {
		t.Fatalf("no refresh after the token's expiry: %v", err)
	}
	if err := h.sb.AwaitRequests(ctx, "graph /$batch", h.sb.Requests("graph /$batch")+3); err != nil {
		t.Fatalf("polls stopped after the refresh: %v", err)
	}
	if n := h.sb.Requests("token") - tokens; n != 1 {
		t.Errorf("%d refreshes for three screens of one account, want 1", n)
	}
	for _, id := range ids {
		st, err := h.m.State(ctx, id, 0)
		if err != nil || st.Phase != wire.PhaseDashboard || st.Dashboard.User.Name != "Lobby Room" || st.Dashboard.Stale {
			t.Errorf("screen %s shows %s %+v (%v)", id, st.Phase, st.Dashboard, err)
		}
	}
}

func accountOf(t *testing.T, h *harness, screenID string) string {
	t.Helper()
	sc, err := h.store.Screen(context.Background(), screenID)
	if err != nil || sc.AccountID == "" {
		t.Fatalf("screen %s has no account: %v", screenID, err)
	}
	return sc.AccountID
}

// An edge server alone owns its accounts for good: a watch has its poller
// and nothing else, no goroutine that renews a lease that never lapses.
func TestAWatchOfAServerAloneRunsOnlyItsPoller(t *testing.T) {
	h := newHarness(t, fastPolls, func(c *screens.Config) { c.LeaseRenew = 10 * time.Millisecond })
	first := h.screen("Lobby TV")
	h.signIn(first, "ada@placard.example")
	// The goroutines of one watch are those a second account's adds.
	perWatch := func() int {
		before := screens.Running(h.m)
		id := h.screen("Hall")
		h.signIn(id, "grace@placard.example")
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		n, _ := screens.AwaitRunning(ctx, h.m, func(n int) bool { return n-before == 1 })
		return n - before
	}
	if n := perWatch(); n != 1 {
		t.Fatalf("%d goroutines run for one watch, want its poller alone", n)
	}
	// Its data still comes: the watch owns the account.
	if err := h.sb.SetPresence("ada@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	h.wait(first, 10*time.Second, "the new presence", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
	})
}

// foreverCluster is an edge server alone whose lease releases wait for
// the test.
type foreverCluster struct {
	entered chan string   // an account whose lease is being given up
	unblock chan struct{} // closed to let the releases end
}

func (c *foreverCluster) Own(context.Context, string) (time.Time, error) { return screens.Forever, nil }
func (c *foreverCluster) Release(_ context.Context, id string) error {
	c.entered <- id
	<-c.unblock
	return nil
}
func (c *foreverCluster) PublishSource(context.Context, string, []byte) error { return nil }
func (c *foreverCluster) SourceData(context.Context, string) ([]byte, int64, error) {
	return nil, 0, server.ErrNotFound
}
func (c *foreverCluster) PublishScreen(context.Context, string) error          { return nil }
func (c *foreverCluster) PublishCommand(context.Context, string, []byte) error { return nil }
func (c *foreverCluster) Changes(context.Context) <-chan server.Change         { return nil }
func (c *foreverCluster) AllowCode(context.Context, int, time.Duration) (bool, time.Time, error) {
	return true, time.Time{}, nil
}

// A lease that never lapses is given up when the watch stops, and Close
// waits for that, as for the manager's goroutines: the store and cluster
// are closed after it.
func TestCloseWaitsForTheReleaseOfALeaseThatNeverLapses(t *testing.T) {
	cl := &foreverCluster{entered: make(chan string, 1), unblock: make(chan struct{})}
	h := newHarness(t, func(c *screens.Config) { c.Cluster = cl })
	h.signIn(h.screen("Lobby TV"), "ada@placard.example")
	closed := make(chan struct{})
	go func() {
		h.m.Close()
		close(closed)
	}()
	select {
	case <-cl.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Close gave no lease up")
	}
	// Close may not end before the release does, however long we wait:
	// the check gives it a second to do so wrongly.
	select {
	case <-closed:
		t.Fatal("Close returned while the lease was being given up")
	case <-time.After(time.Second):
	}
	close(cl.unblock)
	<-closed
}

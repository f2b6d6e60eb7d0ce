package screens_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// wheel is a clock that moves only when every poller waits: to the next
// timer due, whose poll then runs at once. A test of minutes of polls of
// many accounts takes the time their requests take, and each poll comes
// exactly when it is due whatever the machine's load.
type wheel struct {
	mu      sync.Mutex
	now     time.Time
	timers  []wheelTimer
	changed chan struct{} // closed when a timer is added
}

type wheelTimer struct {
	at time.Time
	ch chan time.Time
}

func newWheel(start time.Time) *wheel { return &wheel{now: start, changed: make(chan struct{})} }

func (w *wheel) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *wheel) After(d time.Duration) <-chan time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan time.Time, 1)
	w.timers = append(w.timers, wheelTimer{at: w.now.Add(max(d, 0)), ch: ch})
	close(w.changed)
	w.changed = make(chan struct{})
	return ch
}

// settle waits until n timers wait: every poller is between two polls.
func (w *wheel) settle(ctx context.Context, n int) error {
	for {
		w.mu.Lock()
		waiting, changed := len(w.timers), w.changed
		w.mu.Unlock()
		if waiting >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d timers wait, want %d: %w", waiting, n, ctx.Err())
		}
	}
}

// step waits until n timers wait, moves the clock to the earliest and
// fires every timer due then.
func (w *wheel) step(ctx context.Context, n int) error {
	if err := w.settle(ctx, n); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	next := w.timers[0].at
	for _, t := range w.timers {
		if t.at.Before(next) {
			next = t.at
		}
	}
	w.now = next
	left := w.timers[:0]
	for _, t := range w.timers {
		if t.at.After(next) {
			left = append(left, t)
			continue
		}
		t.ch <- next
	}
	w.timers = left
	return nil
}

// signInAll signs the accounts in with the manager's identity, as their
// screens would have, and returns their accounts.
func signInAll(t *testing.T, h *harness, upns []string) []server.Account {
	t.Helper()
	ctx := t.Context()
	out := make([]server.Account, len(upns))
	one := func(i int) error {
		flow, err := h.id.StartDeviceCode(ctx)
		if err != nil {
			return err
		}
		if res := h.sb.Approve(flow.Code().UserCode, upns[i]); res != sandbox.OutcomeApproved {
			return fmt.Errorf("approving %s: %s", upns[i], res)
		}
		acct, err := flow.Wait(ctx)
		if err != nil {
			return err
		}
		out[i] = server.Account{ID: acct.ID, Username: acct.Username, DisplayName: acct.Name, TenantID: acct.TenantID, SignedInAt: time.Now()}
		return h.store.PutAccount(ctx, out[i])
	}
	parallel(t, len(upns), one)
	return out
}

// parallel runs f for 0 to n-1 on a few goroutines.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	jobs := make(chan int)
	errs := make(chan error, n)
	// Most of a sign-in is MSAL's wait before its first poll.
	for range 32 {
		go func() {
			for i := range jobs {
				errs <- f(i)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range n {
			jobs <- i
		}
	}()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Budget: the panels of 500 rooms, each with its own account, with the
// default periods, over minutes of a clock that moves from poll to poll.
// Counted by the sandbox: each room's mailbox stays within Outlook's
// limits (10,000 requests per 10 minutes, 4 at once) and the tenant within
// its presence budget (1,500 per 30 s), while every room's calendar is
// read every CalendarEvery, by delta.
func TestFiveHundredRoomsStayWithinOutlooksLimitsAndThePresenceBudget(t *testing.T) {
	t.Parallel()
	const (
		n    = 500
		span = time.Minute
	)
	clk := newWheel(time.Now().Truncate(time.Second))
	h := newHarnessOn(t, sandbox.Options{Now: clk.Now, NumberedRooms: n}, func(c *screens.Config) {
		c.Now, c.After = clk.Now, clk.After
		c.Log = slog.New(slog.DiscardHandler)
	})
	var upns []string
	for i := 1; i <= n; i++ {
		upns = append(upns, fmt.Sprintf("room%04d@%s", i, sandbox.TenantDomain))
	}
	began := time.Now()
	accounts := signInAll(t, h, upns)
	ctx := t.Context()
	parallel(t, n, func(i int) error {
		sc, _, err := h.m.Open(ctx, "Door of "+upns[i], nil)
		if err != nil {
			return err
		}
		if _, err := h.store.UpdateScreen(ctx, sc.ID, func(s *server.Screen) error { s.AccountID = accounts[i].ID; return nil }); err != nil {
			return err
		}
		return h.m.Attach(ctx, sc.ID, screens.Hello{})
	})
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Every room's first poll is done when all wait.
	if err := clk.settle(sctx, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rooms signed in, shown and read in %v", n, time.Since(began))
	from, at := h.sb.Budgets(), clk.Now()
	// Each step is bounded (a poll that stalls), not all of them by the
	// two minutes: a loaded machine only takes longer over all of them.
	for clk.Now().Sub(at) < span {
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := clk.step(stepCtx, n)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The polls of the last moment are done when all wait again.
	lctx, cancelLast := context.WithTimeout(ctx, time.Minute)
	defer cancelLast()
	if err := clk.settle(lctx, n); err != nil {
		t.Fatal(err)
	}
	to, took := h.sb.Budgets(), clk.Now().Sub(at)
	before := map[string]int{}
	for _, m := range from.Outlook.Mailboxes {
		before[m.UPN] = m.Total
	}
	rooms, least, most := 0, -1, 0
	for _, m := range to.Outlook.Mailboxes {
		if !strings.HasPrefix(m.UPN, "room") {
			continue
		}
		rooms++
		made := m.Total - before[m.UPN]
		if least < 0 || made < least {
			least = made
		}
		most = max(most, made)
		if m.PeakWindow > to.Outlook.Limit || m.PeakConcurrent > to.Outlook.ConcurrentLimit {
			t.Errorf("%s: %d requests in 10 minutes, %d at once", m.UPN, m.PeakWindow, m.PeakConcurrent)
		}
	}
	if rooms != n {
		t.Fatalf("%d rooms' mailboxes were read, want %d", rooms, n)
	}
	// The span is shorter than Outlook's window: at its rate, the most
	// any mailbox had is within the limit.
	window := time.Duration(to.Outlook.WindowSeconds) * time.Second
	if limit := int(float64(to.Outlook.Limit) * float64(took) / float64(window)); most > limit {
		t.Errorf("a mailbox had %d requests in %v: over Outlook's rate (%d in %v)", most, took, to.Outlook.Limit, window)
	}
	// Every room was read every CalendarEvery (spread by up to a
	// twentieth): fresh within 15 s.
	if want := int(took / (screens.DefaultCalendarEvery * 21 / 20)); least < want {
		t.Errorf("a room's calendar was read %d times in %v, want %d", least, took, want)
	}
	if to.Presence.PeakWindow > to.Presence.Limit {
		t.Errorf("%d presence requests in 30 s, over the tenant's %d", to.Presence.PeakWindow, to.Presence.Limit)
	}
	if got := h.sb.Requests("graph /me/calendarView"); got != 0 {
		t.Errorf("%d full calendarView reads", got)
	}
	t.Logf("over %v of the clock: a mailbox %d to %d requests (Outlook allows %d in %v, %d at once); presence at most %d in 30 s (of %d), %d in all; %d rounds of delta",
		took, least, most, to.Outlook.Limit, window, to.Outlook.ConcurrentLimit, to.Presence.PeakWindow, to.Presence.Limit, to.Presence.Total, h.sb.Requests("graph /me/calendarView/delta"))
}

package screens

import (
	"context"
	"strconv"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
)

// BoardPoll returns the poll of a new board of acct that these settings
// show, as its owner makes it, for a test that drives polls on a clock of
// its own (Poll returns when the next one is due).
func BoardPoll(m *Manager, acct server.Account, set server.ScreenSettings) func(context.Context) time.Duration {
	def, _ := boardOf(set)
	p := &boardPoller{m: m, b: m.newBoard(acct, def)}
	return p.Poll
}

// PaceOn sets the clock of the tenant's presence budget.
func PaceOn(m *Manager, now func() time.Time) {
	m.pace.gate, m.pace.now = limit.New(m.pace.budget, now), now
}

// Stopping is closed once Close has begun: every session's context has
// ended by then.
func Stopping(m *Manager) <-chan struct{} { return m.ctx.Done() }

// Running is how many of the manager's goroutines run.
func Running(m *Manager) int {
	n, _ := m.running.value()
	return n
}

// AwaitRunning waits until ok holds of how many of the manager's
// goroutines run, or ctx ends, and returns the last number seen.
func AwaitRunning(ctx context.Context, m *Manager, ok func(int) bool) (int, error) {
	for {
		n, changed := m.running.value()
		if ok(n) {
			return n, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
}

// Forever is the lease of an edge server alone, which never lapses.
var Forever = forever

// Encodes is how many views of snapshots were encoded.
func Encodes(m *Manager) int64 { return m.encodes.Load() }

// Poke has the source of an account poll Graph now.
func Poke(m *Manager, accountID string) {
	if w, ok := m.accounts.Get(accountID); ok {
		w.src.Wake()
	}
}

// Bump makes the next snapshot of an account's source from its latest: its
// presence's activity counts the bumps ("1", "2", ...).
func Bump(m *Manager, accountID string) {
	w, ok := m.accounts.Get(accountID)
	if !ok {
		panic("no source for " + accountID)
	}
	w.update(func(d *accountData) {
		n := 0
		if d.presence != nil {
			n, _ = strconv.Atoi(d.presence.Activity)
		}
		d.presence = &wire.Presence{Availability: "Busy", Activity: strconv.Itoa(n + 1)}
	})
}

// AwaitActive waits until ok holds of how many sessions run, or ctx ends,
// and returns the last number seen.
func AwaitActive(ctx context.Context, m *Manager, ok func(int) bool) (int, error) {
	for {
		n, changed := m.active.value()
		if ok(n) {
			return n, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
}

// ReleaseDue has the manager look for meetings to release now, as it does
// every releaseEvery.
func ReleaseDue(m *Manager, ctx context.Context) { m.releaseDue(ctx) }

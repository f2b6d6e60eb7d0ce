package screens

import "context"

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

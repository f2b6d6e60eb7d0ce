package screens

// Stopping is closed once Close has begun: every session's context has
// ended by then.
func Stopping(m *Manager) <-chan struct{} { return m.ctx.Done() }

// Running is how many of the manager's goroutines run.
func Running(m *Manager) int { return int(m.running.Load()) }

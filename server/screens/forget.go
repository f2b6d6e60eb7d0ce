package screens

import (
	"context"
	"time"

	"github.com/placard/placard/server"
)

// forgetWaitingScreens deletes, at start and then every hour, the screens
// that were never enrolled and have not been seen for ForgetWaiting: a
// browser that opened the page once and went away. A screen being shown
// is kept, whatever its age.
func (m *Manager) forgetWaitingScreens() {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		m.ForgetWaitingScreens(m.ctx)
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ForgetWaitingScreens makes one sweep and returns how many screens it
// deleted.
func (m *Manager) ForgetWaitingScreens(ctx context.Context) int {
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		m.log.Error("listing screens to forget", "err", err)
		return 0
	}
	cutoff := m.cfg.Now().Add(-m.cfg.ForgetWaiting)
	n := 0
	for _, sc := range all {
		if sc.Enrolled || !sc.LastSeen.Before(cutoff) {
			continue
		}
		m.mu.Lock()
		_, shown := m.sessions[sc.ID]
		m.mu.Unlock()
		if shown {
			continue
		}
		if err := m.cfg.Store.DeleteScreen(ctx, sc.ID); err != nil && !server.IsNotFound(err) {
			m.log.Error("forgetting a waiting screen", "screen", sc.ID, "err", err)
			continue
		}
		n++
		m.audit(ctx, server.AuditEvent{Kind: server.AuditScreenForgot, ScreenID: sc.ID, ScreenName: sc.Name,
			Outcome: "ok", Detail: "never enrolled, last seen " + sc.LastSeen.Format(time.RFC3339)})
	}
	return n
}

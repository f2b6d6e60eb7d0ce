package screens

import (
	"context"
	"time"

	"github.com/placard/placard/server"
)

// forgetWaitingScreens deletes, every hour from the first hour after
// start, the screens that were never enrolled and have not been seen for
// ForgetWaiting: a browser that opened the page once and went away. A
// screen being shown is kept, whatever its age.
func (m *Manager) forgetWaitingScreens() {
	t := time.NewTicker(reconnectTime)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.ForgetWaitingScreens(m.ctx)
	}
}

// reconnectTime is how long after a start no screen is forgotten: the
// screens that were connected when the server stopped, whose LastSeen is
// as old as the stop, have connected again by then.
const reconnectTime = time.Hour

// ForgetWaitingScreens makes one sweep and returns how many screens it
// deleted: none in the first hour after start (reconnectTime).
func (m *Manager) ForgetWaitingScreens(ctx context.Context) int {
	if m.cfg.Now().Sub(m.started) < reconnectTime {
		return 0
	}
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
		if m.session(sc.ID) != nil {
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

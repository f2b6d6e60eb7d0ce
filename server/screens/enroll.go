package screens

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
)

// A screen is enrolled before it may ask for codes (docs/security.md: remote
// phishing): a new screen shows a pairing number, and an administrator
// approves that number on the admin page, through the admin API or with
// `placard screens approve`, which runs in another process on the same
// store. A screen that waits therefore reads its record again every
// EnrollPoll, and starts signing in when it finds itself enrolled.

// pairingDigits is the length of a pairing number.
const pairingDigits = 6

// ParsePairingNumber reads a pairing number as a person types it: six
// digits, with spaces or dashes anywhere ("482 913", "482-913").
func ParsePairingNumber(s string) (string, error) {
	if len(s) > 32 {
		return "", server.Errorf(server.EINVALID, "a pairing number is %d digits, as the screen shows it", pairingDigits)
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\t':
		default:
			return "", server.Errorf(server.EINVALID, "pairing number %q has a %q: it is %d digits, as the screen shows it", s, r, pairingDigits)
		}
	}
	if b.Len() != pairingDigits {
		return "", server.Errorf(server.EINVALID, "pairing number %q has %d digits, not %d: check the number on the screen", s, b.Len(), pairingDigits)
	}
	return b.String(), nil
}

// isScreenID reports whether s has the shape of a screen's id (newID).
func isScreenID(s string) bool {
	if len(s) != 17 || s[0] != 's' {
		return false
	}
	return !strings.ContainsFunc(s[1:], func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') })
}

// Approve enrolls the screen named by ref: a pairing number, or a screen's
// id (what `placard screens list` and the admin page show). A number that
// more than one waiting screen shows is refused: approving one of them at
// random could enroll a stranger's browser. by says who approved, for the
// audit trail. It works on the store alone, so that the CLI can use it;
// Manager.Approve also wakes the screen at once.
func Approve(ctx context.Context, store server.Store, ref, by string, now time.Time, log *slog.Logger) (server.Screen, error) {
	ref = strings.TrimSpace(ref)
	var target server.Screen
	number, numErr := ParsePairingNumber(ref)
	switch {
	case numErr == nil:
		all, err := store.Screens(ctx)
		if err != nil {
			return target, fmt.Errorf("screens: approving %s: %w", number, err)
		}
		var waiting []server.Screen
		for _, sc := range all {
			if !sc.Enrolled && sc.PairingNumber == number {
				waiting = append(waiting, sc)
			}
		}
		switch len(waiting) {
		case 0:
			return target, server.Errorf(server.ENOTFOUND, "no screen waits with pairing number %s: check the number on the screen", number)
		case 1:
			target = waiting[0]
		default:
			names := make([]string, len(waiting))
			for i, sc := range waiting {
				names[i] = fmt.Sprintf("%q (%s)", sc.Name, sc.ID)
			}
			return target, server.Errorf(server.ECONFLICT,
				"%d screens show pairing number %s: %s. Approve the right one by its id, and revoke any you do not know",
				len(waiting), number, strings.Join(names, ", "))
		}
	case isScreenID(ref):
		sc, err := store.Screen(ctx, ref)
		if server.IsNotFound(err) {
			return target, server.Errorf(server.ENOTFOUND, "no screen has the id %s", ref)
		}
		if err != nil {
			return target, fmt.Errorf("screens: approving %s: %w", ref, err)
		}
		target = sc
	default:
		return target, numErr
	}

	sc, err := store.UpdateScreen(ctx, target.ID, func(sc *server.Screen) error {
		if sc.Enrolled {
			return server.Errorf(server.ECONFLICT, "screen %q is already enrolled", sc.Name)
		}
		sc.Enrolled, sc.PairingNumber = true, ""
		return nil
	})
	if server.IsNotFound(err) {
		return sc, server.Errorf(server.ENOTFOUND, "screen %q was removed meanwhile", target.Name)
	}
	if err != nil {
		return sc, err
	}
	record(ctx, store, log, server.AuditEvent{Time: now, Kind: server.AuditEnrolled, ScreenID: sc.ID, ScreenName: sc.Name,
		Outcome: "ok", Detail: fmt.Sprintf("by %s, pairing number %s", by, target.PairingNumber)})
	return sc, nil
}

// record adds an event to the audit trail and the log: Manager.audit, and
// those that have no manager (the CLI).
func record(ctx context.Context, store server.Store, log *slog.Logger, e server.AuditEvent) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	log.Info("audit", "kind", e.Kind, "screen", e.ScreenID, "screen_name", e.ScreenName,
		"account", e.Account, "outcome", e.Outcome, "detail", e.Detail)
	if err := store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		log.Error("recording an audit event", "kind", e.Kind, "err", err)
	}
}

// Approve enrolls a screen (see the function Approve) and, when it is
// shown somewhere, starts its sign-in at once.
func (m *Manager) Approve(ctx context.Context, ref, by string) (server.Screen, error) {
	sc, err := Approve(ctx, m.cfg.Store, ref, by, m.cfg.Now(), m.log)
	if err != nil {
		return sc, err
	}
	if s := m.session(sc.ID); s != nil {
		s.mu.Lock()
		m.enrollLocked(s, sc)
		s.mu.Unlock()
	}
	m.publishScreen(ctx, sc.ID)
	return sc, nil
}

// awaitEnrollmentLocked reads a waiting screen's record every EnrollPoll
// until it is enrolled (by another process, or by Approve), removed, or
// its session ends.
func (m *Manager) awaitEnrollmentLocked(s *session) {
	ctx := s.ctx
	m.goroutine(func() {
		t := time.NewTicker(m.cfg.EnrollPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.mu.Lock()
			done := s.screen.Enrolled
			s.mu.Unlock()
			if done {
				return
			}
			sc, err := m.cfg.Store.Screen(ctx, s.id)
			switch {
			case server.IsNotFound(err):
				// Revoked from another process.
				m.drop(s.id, "this screen was removed by an administrator")
				return
			case err != nil:
				if ctx.Err() == nil {
					m.log.Warn("reading a screen that waits for enrollment", "screen", s.id, "err", err)
				}
			case sc.Enrolled:
				s.mu.Lock()
				m.enrollLocked(s, sc)
				s.mu.Unlock()
				return
			}
		}
	})
}

// enrollLocked starts the sign-in of a session whose screen was just
// enrolled.
func (m *Manager) enrollLocked(s *session, sc server.Screen) {
	if s.screen.Enrolled || s.ctx.Err() != nil {
		return
	}
	s.screen.Enrolled, s.screen.PairingNumber = true, ""
	s.screen.Name, s.screen.Settings = sc.Name, sc.Settings
	s.setScreenLocked(s.screen)
	m.startSignInLocked(s)
}

// Revoke removes a screen: its browser's credential stops working at
// once, its session ends, its connections get wire.Denied and are closed
// (the browser then loads its page again and registers as a new screen,
// which waits for enrollment), and its account is signed out. The
// account's tokens are deleted when no other screen shows it.
func (m *Manager) Revoke(ctx context.Context, id, by string) (server.Screen, error) {
	sc, err := m.cfg.Store.Screen(ctx, id)
	if server.IsNotFound(err) {
		return sc, server.Errorf(server.ENOTFOUND, "no screen has the id %s", id)
	}
	if err != nil {
		return sc, fmt.Errorf("screens: revoking %s: %w", id, err)
	}
	if err := m.cfg.Store.DeleteScreen(ctx, id); err != nil && !server.IsNotFound(err) {
		return sc, fmt.Errorf("screens: revoking %s: %w", id, err)
	}
	var upn string
	if sc.AccountID != "" {
		if a, err := m.cfg.Store.Account(ctx, sc.AccountID); err == nil {
			upn = a.Username
		}
	}
	m.audit(ctx, server.AuditEvent{Kind: server.AuditScreenRevoked, ScreenID: sc.ID, ScreenName: sc.Name,
		Account: upn, Outcome: "ok", Detail: "by " + by})
	m.drop(id, "this screen was revoked by an administrator")
	m.publishScreen(ctx, id)
	if sc.AccountID != "" {
		if err := m.forgetIfUnused(ctx, sc.AccountID); err != nil {
			return sc, err
		}
	}
	return sc, nil
}

// drop ends a screen's session and closes its connections after telling
// them why.
func (m *Manager) drop(id, reason string) {
	if s := m.session(id); s != nil {
		s.mu.Lock()
		m.stopLocked(s)
		s.mu.Unlock()
	}
	msg, err := wire.Encode(wire.Denied{Reason: reason})
	if err != nil {
		m.log.Error("encoding a denial", "err", err)
	}
	m.cfg.Publisher.Disconnect(id, msg)
}

// waitingClashes returns the ids of screens that wait for enrollment
// with the same pairing number as another waiting screen: approving by
// that number is refused, and the admin page flags them.
func waitingClashes(all []server.Screen) map[string]bool {
	seen := map[string]int{}
	for _, sc := range all {
		if !sc.Enrolled && sc.PairingNumber != "" {
			seen[sc.PairingNumber]++
		}
	}
	out := map[string]bool{}
	for _, sc := range all {
		if seen[sc.PairingNumber] > 1 && !sc.Enrolled {
			out[sc.ID] = true
		}
	}
	return out
}

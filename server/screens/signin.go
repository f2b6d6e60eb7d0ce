package screens

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
)

// startSignInLocked starts the session's sign-in loop unless it runs.
func (m *Manager) startSignInLocked(s *session) {
	if s.signingIn || s.ctx.Err() != nil {
		return
	}
	s.signingIn = true
	m.detachWatchLocked(s)
	if s.phase == wire.PhaseDashboard || s.phase == wire.PhasePairing {
		s.phase = wire.PhaseConnecting
	}
	ctx := s.ctx
	m.goroutine(func() {
		m.signIn(ctx, s)
		m.mu.Lock()
		s.signingIn = false
		m.mu.Unlock()
	})
}

// signIn shows device codes on the screen until someone signs in with one,
// replacing each code before it expires (RFC 8628 §3.2 expires_in), and
// showing what went wrong when a sign-in fails.
func (m *Manager) signIn(ctx context.Context, s *session) {
	failures := 0
	for ctx.Err() == nil {
		if err := m.AllowCode(s.id); err != nil {
			if !m.refuseCode(ctx, s, err) {
				return
			}
			continue
		}
		flow, err := m.cfg.Identity.StartDeviceCode(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			m.log.Warn("asking for a device code", "screen", s.id, "err", err)
			m.cfg.Metrics.SignIn("code_failed")
			if !m.holdProblem(ctx, s, err, retryDelay(identity.KindOf(err), failures, m.cfg.ProblemHold)) {
				return
			}
			continue
		}
		failures = 0
		code := flow.Code()
		qr, err := encodeQR(m.cfg.QRContent(code.VerificationURI, code.UserCode))
		if err != nil {
			m.log.Error("drawing a QR code", "screen", s.id, "err", err)
		}
		// The audit trail and the phone page know of the code before
		// anyone can read it on the screen.
		m.mu.Lock()
		name := s.screen.Name
		m.mu.Unlock()
		m.cfg.OnCode(code.UserCode, name)
		m.audit(ctx, server.AuditEvent{Kind: server.AuditCodeShown, ScreenID: s.id, ScreenName: name, Outcome: "ok",
			Detail: "expires " + code.ExpiresAt.UTC().Format(time.RFC3339)})
		m.mu.Lock()
		s.phase, s.problem = wire.PhaseCode, nil
		s.code = &wire.Code{UserCode: code.UserCode, VerificationURI: code.VerificationURI, ExpiresAt: code.ExpiresAt, QR: qr}
		m.publishLocked(s)
		m.mu.Unlock()

		wctx, cancel := context.WithDeadline(ctx, renewAt(m.cfg.Now(), code.ExpiresAt))
		acct, err := flow.Wait(wctx)
		renew := wctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			if err := m.signedIn(ctx, s, acct); err != nil {
				m.log.Error("recording a sign-in", "screen", s.id, "err", err)
				if !m.holdProblem(ctx, s, err, m.cfg.ProblemHold) {
					return
				}
				continue
			}
			return
		case ctx.Err() != nil:
			return
		case renew:
			continue // time for a new code before this one expires
		}
		kind := identity.KindOf(err)
		m.cfg.Metrics.SignIn(kind.String())
		m.audit(ctx, server.AuditEvent{Kind: server.AuditSignIn, ScreenID: s.id, ScreenName: name,
			Outcome: kind.String(), Detail: detail(err)})
		if kind == identity.KindWrongTenant {
			// Its tokens were never stored: identity drops them.
			m.audit(ctx, server.AuditEvent{Kind: server.AuditTenantRejected, ScreenID: s.id, ScreenName: name,
				Outcome: "dropped", Detail: detail(err)})
		}
		failures++
		if !m.holdProblem(ctx, s, err, retryDelay(kind, failures, m.cfg.ProblemHold)) {
			return
		}
	}
}

// renewAt is when a code is replaced: a minute before it expires, or a
// fifth of its life for short-lived codes.
func renewAt(now, expires time.Time) time.Time {
	margin := min(time.Minute, expires.Sub(now)/5)
	return expires.Add(-margin)
}

// retryDelay is how long a problem is shown before the next try. Declines
// and expiries move on after the hold; a Conditional Access block waits
// long, so that a blocked screen does not spam the identity platform; other
// failures back off exponentially with jitter.
func retryDelay(kind identity.Kind, failures int, hold time.Duration) time.Duration {
	switch kind {
	case identity.KindDeclined, identity.KindExpired, identity.KindWrongTenant, identity.KindSessionEnded, identity.KindSignedOut:
		return hold
	case identity.KindBlocked:
		return min(5*time.Minute<<min(failures-1, 4), time.Hour)
	}
	d := min(hold<<min(failures-1, 6), 10*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// holdProblem shows err on the screen until retry has passed. It reports
// false when the session ended meanwhile.
func (m *Manager) holdProblem(ctx context.Context, s *session, err error, retry time.Duration) bool {
	m.mu.Lock()
	s.phase, s.code = wire.PhaseError, nil
	p := problemOf(err)
	p.Retry = m.cfg.Now().Add(retry)
	s.problem = &p
	m.publishLocked(s)
	m.mu.Unlock()
	return sleep(ctx, retry)
}

// problemOf says what an error means to a person, in wire terms.
func problemOf(err error) wire.Problem {
	var le *CodeLimitError
	if errors.As(err, &le) {
		return wire.Problem{Kind: wire.ProblemRateLimited}
	}
	var ae *identity.AuthError
	p := wire.Problem{Kind: wire.ProblemFailed}
	if errors.As(err, &ae) {
		p.Code = ae.AADSTS()
		switch ae.Kind {
		case identity.KindDeclined:
			p.Kind = wire.ProblemDeclined
		case identity.KindExpired:
			p.Kind = wire.ProblemExpired
		case identity.KindBlocked:
			p.Kind = wire.ProblemBlocked
		case identity.KindUnreachable:
			p.Kind = wire.ProblemUnreachable
		case identity.KindWrongTenant:
			p.Kind = wire.ProblemTenant
		case identity.KindSessionEnded, identity.KindSignedOut:
			p.Kind = wire.ProblemRefreshFailed
		}
		if p.Code == "" && ae.OAuth != "" && p.Kind == wire.ProblemFailed {
			p.Code = ae.OAuth
		}
	}
	return p
}

// signedIn records a successful sign-in and shows the account.
func (m *Manager) signedIn(ctx context.Context, s *session, a identity.Account) error {
	acct := server.Account{ID: a.ID, Username: a.Username, DisplayName: a.Name, TenantID: a.TenantID, SignedInAt: m.cfg.Now()}
	if err := m.cfg.Store.PutAccount(ctx, acct); err != nil {
		return err
	}
	sc, err := m.cfg.Store.UpdateScreen(ctx, s.id, func(sc *server.Screen) error {
		sc.AccountID = acct.ID
		return nil
	})
	if err != nil {
		return err
	}
	m.cfg.Metrics.SignIn("success")
	m.audit(ctx, server.AuditEvent{Kind: server.AuditSignIn, ScreenID: s.id, ScreenName: sc.Name, Account: acct.Username, Outcome: "success"})
	m.mu.Lock()
	defer m.mu.Unlock()
	s.screen = sc
	s.code, s.problem = nil, nil
	m.attachWatchLocked(s, acct)
	return nil
}

// detail is what the audit trail keeps of an error: the identity platform's
// answer, which never holds a token.
func detail(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SignOut signs a screen's account out of it, as asked by the screen (a
// tablet's button) or an administrator (by names who). The account's
// tokens are deleted when no other screen shows it. It returns the screen.
func (m *Manager) SignOut(ctx context.Context, screenID, by string) (server.Screen, error) {
	var accountID string
	sc, err := m.cfg.Store.UpdateScreen(ctx, screenID, func(sc *server.Screen) error {
		if sc.AccountID == "" {
			return errUnchanged
		}
		accountID, sc.AccountID = sc.AccountID, ""
		return nil
	})
	switch {
	case err == errUnchanged:
		return sc, nil
	case server.IsNotFound(err):
		return sc, server.Errorf(server.ENOTFOUND, "no screen has the id %s", screenID)
	case err != nil:
		return sc, fmt.Errorf("screens: signing %s out: %w", screenID, err)
	}
	acct, _ := m.cfg.Store.Account(ctx, accountID)
	m.audit(ctx, server.AuditEvent{Kind: server.AuditSignOut, ScreenID: sc.ID, ScreenName: sc.Name,
		Account: acct.Username, Outcome: "ok", Detail: "by " + by})
	m.mu.Lock()
	if s := m.sessions[screenID]; s != nil {
		s.screen = sc
		m.detachWatchLocked(s)
		m.showThenSignInLocked(s, wire.Problem{Kind: wire.ProblemSignedOut})
	}
	m.mu.Unlock()
	return sc, m.forgetIfUnused(ctx, accountID)
}

// forgetIfUnused deletes an account and its tokens when no screen shows it.
func (m *Manager) forgetIfUnused(ctx context.Context, accountID string) error {
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		return fmt.Errorf("screens: listing screens: %w", err)
	}
	for _, sc := range all {
		if sc.AccountID == accountID {
			return nil
		}
	}
	if err := m.cfg.Identity.Forget(ctx, accountID); err != nil {
		return err
	}
	if err := m.cfg.Store.DeleteAccount(ctx, accountID); err != nil && !server.IsNotFound(err) {
		return fmt.Errorf("screens: deleting account %s: %w", accountID, err)
	}
	return nil
}

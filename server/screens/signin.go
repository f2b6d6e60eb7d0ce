package screens

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
	m.unshowLocked(s)
	if s.phase == wire.PhaseDashboard || s.phase == wire.PhasePairing {
		s.phase = wire.PhaseConnecting
	}
	ctx := s.ctx
	if !m.goroutine(func() {
		m.signIn(ctx, s)
		s.mu.Lock()
		s.signingIn = false
		s.mu.Unlock()
	}) {
		s.signingIn = false
	}
}

// signIn offers the screen's ways to sign in until someone signs in with
// one of them, replacing the offers before they expire (RFC 8628 §3.2
// expires_in), and showing what went wrong when a sign-in fails.
func (m *Manager) signIn(ctx context.Context, s *session) {
	failures := 0
	// carried are sign-ins in progress of an earlier round (a phone at
	// Microsoft's page), still waited for beside the new offers.
	var carried []offer
	defer func() {
		for _, o := range carried {
			o.end()
		}
	}()
	for ctx.Err() == nil {
		path, carry, err := m.offer(ctx, s, carried)
		carried = carry
		var re *recordError
		switch {
		case err == nil:
			return
		case ctx.Err() != nil:
			return
		case errors.Is(err, errRenew):
			continue // time for new offers before these expire
		case errors.Is(err, errTaken):
			return // signed in with the screen's group
		case errors.As(err, &re):
			m.log.Error("recording a sign-in", "screen", s.id, "err", err)
			if !m.holdProblem(ctx, s, err, m.cfg.ProblemHold) {
				return
			}
			continue
		}
		var le *CodeLimitError
		if errors.As(err, &le) {
			if !m.refuseCode(ctx, s, err) {
				return
			}
			continue
		}
		kind := identity.KindOf(err)
		var se *startError
		if errors.As(err, &se) {
			m.log.Warn("starting a sign-in", "screen", s.id, "path", path, "err", err)
			m.cfg.Metrics.SignIn("code_failed")
		} else {
			s.mu.Lock()
			name := s.screen.Name
			s.mu.Unlock()
			m.cfg.Metrics.SignIn(kind.String())
			m.audit(ctx, server.AuditEvent{Kind: server.AuditSignIn, ScreenID: s.id, ScreenName: name,
				Outcome: kind.String(), Detail: path + ": " + detail(err)})
			if kind == identity.KindWrongTenant {
				// Its tokens were never stored: identity drops them.
				m.audit(ctx, server.AuditEvent{Kind: server.AuditTenantRejected, ScreenID: s.id, ScreenName: name,
					Outcome: "dropped", Detail: detail(err)})
			}
		}
		if m.codeRefused(ctx, s, path, err) {
			failures = 0
			continue // the QR code alone, at once
		}
		failures++
		if !m.holdProblem(ctx, s, err, retryDelay(kind, failures, m.cfg.ProblemHold)) {
			return
		}
	}
}

// codeRefused reports a device code refused by the organisation's policy
// on a screen that also signs in by QR: from then on the screen offers the
// QR code alone, and says why.
func (m *Manager) codeRefused(ctx context.Context, s *session, path string, err error) bool {
	// Only the "Block device code flow" policy: another Conditional Access
	// block (of this account, or of this place) is shown with its code
	// for IT, as on a screen that signs in with a code only.
	kind := identity.KindOf(err)
	if path != server.PathDeviceCode || kind != identity.KindCodeFlowBlocked {
		return false
	}
	s.mu.Lock()
	fallback := m.modeLocked(s) == server.SignInBoth && !s.codeBlocked
	if fallback {
		s.codeBlocked = true
	}
	name := s.screen.Name
	s.mu.Unlock()
	if fallback {
		m.log.Warn("the organisation blocks sign-in with a code: the screen signs in by QR code", "screen", s.id, "err", err)
		m.audit(ctx, server.AuditEvent{Kind: server.AuditCodeRefused, ScreenID: s.id, ScreenName: name,
			Outcome: kind.String(), Detail: "signing in by QR code only: " + detail(err)})
	}
	return fallback
}

// A method is one way a screen signs in: the device code, or the QR code's
// link on the authorization-code path. A session offers one or more, and
// takes whichever someone finishes first.
type method interface {
	// path names the method in the audit trail (server.PathDeviceCode,
	// server.PathAuthCode).
	path() string
	// start makes a new offer for the session's screen.
	start(ctx context.Context, s *session) (offer, error)
}

// An offer is one method's current prompt on a screen.
type offer interface {
	// show adds what the screen shows of the offer to c.
	show(c *wire.Code)
	// expires is when the offer stops working.
	expires() time.Time
	// wait blocks until someone signed in with the offer, it failed, or
	// ctx ended.
	wait(ctx context.Context) (identity.Account, error)
	// busyUntil is when the screen may replace the offer under a person
	// in the middle of using it (a phone about to type the number, or at
	// Microsoft's page). Zero when nobody is.
	busyUntil() time.Time
	// inProgress reports whether a person is still signing in with the
	// offer, though the screen replaces it: the next offers wait for it
	// too (a phone at Microsoft's page may still come back).
	inProgress(now time.Time) bool
	// replaceAt is when the screen replaces the offer before it expires,
	// waiting for the sign-in in progress beside the new offers (a link
	// whose number was typed: nobody else can use it); zero for never.
	// changes is told when it may have moved (nil when it never does).
	replaceAt() time.Time
	changes() <-chan struct{}
	// take claims the sign-in that wait returned for the session; false
	// when it cannot be had any more (given up meanwhile).
	take(ctx context.Context) bool
	// drop forgets the tokens of a sign-in that wait returned and the
	// session did not take.
	drop(ctx context.Context, acct identity.Account)
	// recorded is told whether the sign-in the offer yielded was
	// recorded (the screen shows the account).
	recorded(err error)
	// end withdraws the offer: it no longer works.
	end()
}

// modeLocked is how the session's screen signs in: its own setting, else
// the edge server's.
func (m *Manager) modeLocked(s *session) string {
	if mode := s.screen.Settings.SignIn; mode != "" {
		return mode
	}
	return m.cfg.SignIn
}

// methodsLocked are the ways the session's screen offers to sign in: both
// is two offers. A screen whose device code the organisation refused
// offers the QR code alone.
func (m *Manager) methodsLocked(s *session) []method {
	switch m.modeLocked(s) {
	case server.SignInQR:
		return []method{qrLink{m}}
	case server.SignInBoth:
		if s.codeBlocked {
			return []method{qrLink{m}}
		}
		return []method{deviceCode{m}, qrLink{m}}
	}
	return []method{deviceCode{m}}
}

// recordError is a sign-in that could not be recorded.
type recordError struct{ err error }

func (e *recordError) Error() string { return "recording a sign-in: " + e.err.Error() }
func (e *recordError) Unwrap() error { return e.err }

// errRenew ends a round of offers that are about to expire.
var errRenew = errors.New("screens: the sign-in offers are renewed")

// startError is a method that could not make its offer.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// offer shows the screen every way it signs in, waits for the first that
// someone finishes, and records that sign-in. carried are sign-ins in
// progress of earlier rounds, waited for too but not shown. It returns
// the path it came by; errRenew when the offers are about to expire, with
// the sign-ins still in progress to carry into the next round; or the
// failure of one of them, with its path.
func (m *Manager) offer(ctx context.Context, s *session, carried []offer) (string, []offer, error) {
	rctx, cancel := context.WithCancel(ctx)
	select {
	case <-s.reoffer: // these offers follow the latest settings already
	default:
	}
	s.mu.Lock()
	methods := m.methodsLocked(s)
	s.mu.Unlock()

	type result struct {
		acct  identity.Account
		path  string
		offer offer
		err   error
	}
	// results has room for every offer's one result: a wait whose
	// result comes after this round ended does not block, and what it
	// yielded is dropped (its tokens forgotten) when the round did not
	// take it.
	var offers []offer
	var paths []string
	var results chan result
	waiting := 0
	var carry []offer
	defer func() {
		cancel()
		kept := map[offer]bool{}
		for _, o := range carry {
			kept[o] = true
		}
		for _, o := range append(offers, carried...) {
			if !kept[o] {
				o.end()
			}
		}
		if results != nil && waiting > 0 {
			n := waiting
			m.goroutine(func() {
				for range n {
					if r := <-results; r.err == nil {
						r.offer.drop(context.WithoutCancel(ctx), r.acct)
					}
				}
			})
		}
	}()
	code := &wire.Code{}
	for _, meth := range methods {
		o, err := meth.start(rctx, s)
		if err != nil {
			if _, limited := err.(*CodeLimitError); !limited && ctx.Err() == nil {
				err = &startError{err}
			}
			carry = m.stillInProgress(nil, carried)
			return meth.path(), carry, err
		}
		offers, paths = append(offers, o), append(paths, meth.path())
		o.show(code)
		if code.ExpiresAt.IsZero() || o.expires().Before(code.ExpiresAt) {
			code.ExpiresAt = o.expires()
		}
	}
	s.mu.Lock()
	if s.shown != nil {
		s.mu.Unlock()
		return "", nil, errTaken // another screen of its group signed it in meanwhile
	}
	code.CodeBlocked = s.codeBlocked && len(offers) == 1 && methods[0].path() == server.PathAuthCode
	s.phase, s.problem, s.code = wire.PhaseCode, nil, code
	s.mu.Unlock()
	m.publish(s)

	isCarried := map[offer]bool{}
	results = make(chan result, len(offers)+len(carried))
	wait := func(o offer, path string) {
		waiting++
		m.goroutine(func() {
			acct, err := o.wait(rctx)
			results <- result{acct, path, o, err}
		})
	}
	for i, o := range offers {
		wait(o, paths[i])
	}
	for _, o := range carried {
		isCarried[o] = true
		wait(o, server.PathAuthCode)
	}
	renew := time.NewTimer(renewAt(m.cfg.Now(), code.ExpiresAt).Sub(m.cfg.Now()))
	defer renew.Stop()
	busy := func() time.Time {
		var until time.Time
		for _, o := range offers {
			if b := o.busyUntil(); b.After(until) {
				until = b
			}
		}
		return until
	}
	live := len(offers) // offers of this round still waited for
	var changes <-chan struct{}
	for _, o := range offers {
		if c := o.changes(); c != nil {
			changes = c
		}
	}
	replace := time.NewTimer(time.Hour)
	replace.Stop()
	defer replace.Stop()
	replaceAt := func() time.Time {
		var at time.Time
		for _, o := range offers {
			if r := o.replaceAt(); !r.IsZero() && (at.IsZero() || r.Before(at)) {
				at = r
			}
		}
		return at
	}
	for {
		select {
		case <-changes:
			if at := replaceAt(); !at.IsZero() {
				replace.Reset(at.Sub(m.cfg.Now()))
			}
		case <-replace.C:
			if at := replaceAt(); at.IsZero() || at.After(m.cfg.Now()) {
				continue // it moved on meanwhile
			}
			carry = m.stillInProgress(offers, carriedLeft(carried, isCarried))
			return "", carry, errRenew
		case r := <-results:
			waiting--
			if r.err == nil {
				if !r.offer.take(ctx) {
					// Given up meanwhile: as if it had failed.
					r.err = errNotTaken
				} else {
					err := m.signedIn(ctx, s, r.acct, r.path)
					r.offer.recorded(err)
					if err != nil {
						return r.path, nil, &recordError{err}
					}
					return r.path, nil, nil
				}
			}
			if isCarried[r.offer] {
				// An earlier round's sign-in that failed or was given
				// up: this round's offers go on.
				r.offer.end()
				delete(isCarried, r.offer)
				continue
			}
			live--
			if ctx.Err() != nil || live == 0 || !busy().After(m.cfg.Now()) {
				return r.path, nil, r.err
			}
			// Someone is signing in on another path (a phone at
			// Microsoft's sign-in page): this one's end does not
			// interrupt them.
		case <-renew.C:
			if until := busy(); until.After(m.cfg.Now()) {
				renew.Reset(until.Sub(m.cfg.Now()))
				continue
			}
			carry = m.stillInProgress(offers, carriedLeft(carried, isCarried))
			return "", carry, errRenew
		case <-s.reoffer:
			// Another way to sign in was chosen; a phone in the middle of
			// signing in finishes first, and the next offers follow it.
			if !busy().After(m.cfg.Now()) {
				carry = m.stillInProgress(offers, carriedLeft(carried, isCarried))
				return "", carry, errRenew
			}
		case <-s.taken:
			return "", nil, errTaken
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
}

// carriedLeft are the carried offers still waited for (not ended).
func carriedLeft(carried []offer, left map[offer]bool) []offer {
	var out []offer
	for _, o := range carried {
		if left[o] {
			out = append(out, o)
		}
	}
	return out
}

// stillInProgress are the offers, of this round and carried ones not yet
// ended, that a person is still signing in with.
func (m *Manager) stillInProgress(offers, carried []offer) []offer {
	now := m.cfg.Now()
	var out []offer
	for _, o := range offers {
		if o.inProgress(now) {
			out = append(out, o)
		}
	}
	for _, o := range carried {
		if o.inProgress(now) {
			out = append(out, o)
		}
	}
	return out
}

// deviceCode is the device authorization grant (RFC 8628): the screen
// shows a user code and where to enter it, and a QR code of that address.
type deviceCode struct{ m *Manager }

func (deviceCode) path() string { return server.PathDeviceCode }

func (d deviceCode) start(ctx context.Context, s *session) (offer, error) {
	m := d.m
	if err := m.AllowCode(s.id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	extra := m.boardScopes(s.screen.Settings)
	s.mu.Unlock()
	flow, err := m.cfg.Identity.StartDeviceCode(ctx, extra...)
	if err != nil {
		return nil, err
	}
	code := flow.Code()
	qr, err := encodeQR(m.scopeQR(ctx, s, code.VerificationURI, code.UserCode, code.ExpiresAt))
	if err != nil {
		m.log.Error("drawing a QR code", "screen", s.id, "err", err)
	}
	qr.To = wire.QRDeviceCode
	// The audit trail and the phone page know of the code before anyone
	// can read it on the screen.
	s.mu.Lock()
	name := s.screen.Name
	s.mu.Unlock()
	m.cfg.OnCode(code.UserCode, name)
	m.audit(ctx, server.AuditEvent{Kind: server.AuditCodeShown, ScreenID: s.id, ScreenName: name, Outcome: "ok",
		Detail: "expires " + code.ExpiresAt.UTC().Format(time.RFC3339)})
	return &deviceCodeOffer{m: m, flow: flow, code: code, qr: qr}, nil
}

type deviceCodeOffer struct {
	m    *Manager
	flow *identity.Flow
	code identity.Code
	qr   wire.QR
}

func (o *deviceCodeOffer) show(c *wire.Code) {
	c.UserCode, c.VerificationURI, c.QR = o.code.UserCode, o.code.VerificationURI, o.qr
}

func (o *deviceCodeOffer) expires() time.Time { return o.code.ExpiresAt }

func (o *deviceCodeOffer) wait(ctx context.Context) (identity.Account, error) {
	return o.flow.Wait(ctx)
}

func (o *deviceCodeOffer) busyUntil() time.Time { return time.Time{} }

func (o *deviceCodeOffer) inProgress(time.Time) bool { return false }

func (o *deviceCodeOffer) replaceAt() time.Time { return time.Time{} }

func (o *deviceCodeOffer) changes() <-chan struct{} { return nil }

func (o *deviceCodeOffer) take(context.Context) bool { return true }

// drop forgets the tokens of a device code that was approved as the round
// ended (another sign-in was taken, or the session stopped), unless a
// screen shows the account.
func (o *deviceCodeOffer) drop(ctx context.Context, acct identity.Account) {
	if err := o.m.forgetIfUnused(ctx, acct.ID); err != nil {
		o.m.log.Error("forgetting the tokens of a sign-in no screen took", "account", acct.Username, "err", err)
	}
}

func (o *deviceCodeOffer) recorded(error) {}

// end leaves the code to expire: the identity platform has no way to
// withdraw one, and nobody polls it any more.
func (o *deviceCodeOffer) end() {}

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
	case identity.KindBlocked, identity.KindCodeFlowBlocked:
		return min(5*time.Minute<<min(failures-1, 4), time.Hour)
	case identity.KindConsent:
		// Someone must consent (an administrator, often): the sentence
		// stays up a while before the screen offers to sign in again.
		return 8 * hold
	}
	d := min(hold<<min(failures-1, 6), 10*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// holdProblem shows err on the screen until retry has passed. It reports
// false when the session ended meanwhile.
func (m *Manager) holdProblem(ctx context.Context, s *session, err error, retry time.Duration) bool {
	s.mu.Lock()
	s.phase, s.code = wire.PhaseError, nil
	p := problemOf(err)
	p.Retry = m.cfg.Now().Add(retry)
	s.problem = &p
	if def, ok := boardOf(s.screen.Settings); ok && identity.KindOf(err) == identity.KindConsent {
		// A board whose permissions were refused at its sign-in says
		// which, and who can grant them, rather than an error.
		s.phase, s.problem = wire.PhaseDashboard, nil
		s.consent = &wire.Board{Kind: def.kind, Consent: signInConsent(m.boardScopes(s.screen.Settings), err)}
	}
	s.mu.Unlock()
	m.publish(s)
	return sleep(ctx, retry)
}

// signInConsent is what a board says when its sign-in was refused for
// want of consent to perms: the identity platform does not say which
// permission, so the ones only an administrator can grant are named when
// it asked for an administrator (AADSTS90094: no one refused them, an
// administrator must grant them), else all, as refused (AADSTS65001).
func signInConsent(perms []string, err error) *wire.Consent {
	var ae *identity.AuthError
	if errors.As(err, &ae) && slices.Contains(ae.Codes, 90094) {
		var admin []string
		for _, p := range perms {
			if slices.Contains(adminOnly, p) {
				admin = append(admin, p)
			}
		}
		if len(admin) > 0 {
			return consentFor(false, admin...)
		}
	}
	return consentFor(true, perms...)
}

// problemOf says what an error means to a person, in wire terms.
func problemOf(err error) wire.Problem {
	var le *CodeLimitError
	if errors.As(err, &le) {
		return wire.Problem{Kind: wire.ProblemRateLimited}
	}
	if errors.Is(err, errWrongNumber) {
		return wire.Problem{Kind: wire.ProblemWrongNumber}
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
		case identity.KindCodeFlowBlocked:
			p.Kind = wire.ProblemCodeBlocked
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
func (m *Manager) signedIn(ctx context.Context, s *session, a identity.Account, path string) error {
	// The tokens are saved: the account and the screen showing it are
	// recorded even if the session ends now, or the tokens would be kept
	// for an account nothing names.
	ctx = context.WithoutCancel(ctx)
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
	m.roomsMayHaveChanged()
	m.cfg.Metrics.SignIn("success")
	s.mu.Lock()
	scope := takeScopeLocked(s, path)
	s.mu.Unlock()
	detail := path
	if scope == ScopeGroup {
		detail += ", for all the screens of its group, as chosen on the phone"
	}
	m.audit(ctx, server.AuditEvent{Kind: server.AuditSignIn, ScreenID: s.id, ScreenName: sc.Name, Account: acct.Username, Outcome: "success", Detail: detail})
	s.mu.Lock()
	s.setScreenLocked(sc)
	s.code, s.problem = nil, nil
	publish := m.showLocked(s, acct)
	s.mu.Unlock()
	if publish {
		m.publish(s)
	}
	if scope == ScopeGroup {
		m.signInGroup(ctx, sc, acct, path)
	}
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
	if s := m.session(screenID); s != nil {
		s.mu.Lock()
		s.setScreenLocked(sc)
		m.unshowLocked(s)
		publish := m.showThenSignInLocked(s, wire.Problem{Kind: wire.ProblemSignedOut})
		s.mu.Unlock()
		if publish {
			m.publish(s)
		}
	}
	m.publishScreen(ctx, screenID)
	return sc, m.forgetIfUnused(ctx, accountID)
}

// ScreenSignOut signs a screen's account out at the screen's own word (a
// tablet's button), when an administrator lets it act: its cookie alone,
// and what its browser says of itself, let it do nothing more.
func (m *Manager) ScreenSignOut(ctx context.Context, screenID string) error {
	sc, err := m.cfg.Store.Screen(ctx, screenID)
	if err != nil {
		return fmt.Errorf("screens: signing %s out: %w", screenID, err)
	}
	if !sc.Settings.Actions {
		return server.Errorf(server.EFORBIDDEN, "an administrator does not let screen %s act (its settings: actions)", screenID)
	}
	_, err = m.SignOut(ctx, screenID, "screen")
	return err
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
	if err := m.cfg.Store.DeleteCalendarSync(ctx, accountID); err != nil {
		return fmt.Errorf("screens: forgetting the calendar of account %s: %w", accountID, err)
	}
	// Signed out everywhere: what only followed it is told so.
	m.unfollowAccount(accountID)
	return nil
}

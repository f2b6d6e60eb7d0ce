package screens

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/identity"
)

// watch is one signed-in account shown on one or more screens: one token
// cache, one refresh, one Graph poll for all of them. Fields are guarded by
// Manager.mu.
type watch struct {
	account  server.Account
	sessions map[*session]bool
	cancel   context.CancelFunc
	data     accountData
}

// accountData is what Graph said of the account, last time it answered.
type accountData struct {
	name  string
	photo string // data: URL, "" when none
	// presence is nil when the account has none (no Teams, no scope).
	presence *wire.Presence
	fresh    time.Time
	stale    bool
}

// attachWatchLocked shows the account on the session, starting the
// account's watch when no other screen shows it.
func (m *Manager) attachWatchLocked(s *session, acct server.Account) {
	w := m.watches[acct.ID]
	if w == nil {
		ctx, cancel := context.WithCancel(m.ctx)
		w = &watch{account: acct, sessions: map[*session]bool{}, cancel: cancel,
			data: accountData{name: acct.DisplayName}}
		m.watches[acct.ID] = w
		m.goroutine(func() { m.poll(ctx, w) })
	}
	w.sessions[s] = true
	s.watch = w
	s.phase, s.code, s.problem = wire.PhaseDashboard, nil, nil
	m.publishLocked(s)
}

// detachWatchLocked takes the session off its account's watch, stopping the
// watch when no screen shows the account any more. The account stays signed
// in: its screens pick it up when they connect again.
func (m *Manager) detachWatchLocked(s *session) {
	w := s.watch
	if w == nil {
		return
	}
	s.watch = nil
	delete(w.sessions, s)
	if len(w.sessions) == 0 {
		w.cancel()
		if m.watches[w.account.ID] == w {
			delete(m.watches, w.account.ID)
		}
	}
}

// poll reads Graph for the account while a screen shows it: the profile
// and photo once, presence every PresenceEvery. It honours Retry-After and
// backs off with jitter on failures, keeping the last data, marked stale.
func (m *Manager) poll(ctx context.Context, w *watch) {
	id := w.account.ID
	failures := 0
	var profiled bool
	for ctx.Err() == nil {
		start := time.Now()
		err := m.withToken(ctx, w, func(token string) error {
			if !profiled {
				if err := m.readProfile(ctx, w, token); err != nil {
					return err
				}
				profiled = true
			}
			return m.readPresence(ctx, w, token)
		})
		m.cfg.Metrics.PollLag(time.Since(start))
		if ctx.Err() != nil {
			return
		}
		wait := m.cfg.PresenceEvery
		switch {
		case err == nil:
			failures = 0
			m.updateWatch(w, func(d *accountData) { d.fresh, d.stale = m.cfg.Now(), false })
		case endsSession(err):
			m.endAccount(ctx, w, err)
			return
		default:
			failures++
			wait = backoff(err, failures, m.cfg.PresenceEvery)
			m.log.Warn("reading Microsoft Graph", "account", id, "err", err, "retry_in", wait.String())
			m.updateWatch(w, func(d *accountData) { d.stale = true })
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// withToken runs f with the account's access token. When Graph refuses the
// token (401: expired or revoked early), it gets a fresh one and tries once
// more.
func (m *Manager) withToken(ctx context.Context, w *watch, f func(token string) error) error {
	token, src, err := m.cfg.Identity.Token(ctx, w.account.ID, false)
	m.countRefresh(src, err)
	if err != nil {
		return err
	}
	err = f(token)
	if graph.StatusOf(err) != http.StatusUnauthorized {
		return err
	}
	token, src, err = m.cfg.Identity.Token(ctx, w.account.ID, true)
	m.countRefresh(src, err)
	if err != nil {
		return err
	}
	return f(token)
}

func (m *Manager) countRefresh(src identity.TokenSource, err error) {
	switch {
	case err != nil:
		m.cfg.Metrics.TokenRefresh(identity.KindOf(err).String())
	case src == identity.FromRefresh:
		m.cfg.Metrics.TokenRefresh("success")
	}
}

func (m *Manager) readProfile(ctx context.Context, w *watch, token string) error {
	me, err := m.cfg.Graph.Me(ctx, token)
	if err != nil {
		return err
	}
	photo, ctype, err := m.cfg.Graph.Photo(ctx, token)
	var dataURL string
	switch {
	case err == nil && strings.HasPrefix(ctype, "image/"):
		dataURL = "data:" + ctype + ";base64," + base64.StdEncoding.EncodeToString(photo)
	case err == nil, graph.StatusOf(err) == http.StatusNotFound:
		// No photo: the screen shows initials.
	default:
		return err
	}
	m.updateWatch(w, func(d *accountData) {
		if me.DisplayName != "" {
			d.name = me.DisplayName
		}
		d.photo = dataURL
	})
	return nil
}

func (m *Manager) readPresence(ctx context.Context, w *watch, token string) error {
	p, err := m.cfg.Graph.Presence(ctx, token)
	switch status := graph.StatusOf(err); {
	case err == nil:
		m.updateWatch(w, func(d *accountData) {
			d.presence = &wire.Presence{Availability: p.Availability, Activity: p.Activity}
		})
		return nil
	case status == http.StatusNotFound || status == http.StatusForbidden:
		// No Teams licence, or Presence.Read not granted: the account has
		// no presence to show, which is not an error.
		m.updateWatch(w, func(d *accountData) { d.presence = nil })
		return nil
	default:
		return err
	}
}

// updateWatch changes the account's data and publishes it to its screens.
func (m *Manager) updateWatch(w *watch, f func(*accountData)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(&w.data)
	for s := range w.sessions {
		m.publishLocked(s)
	}
}

// endsSession reports an identity failure that no retry will mend: the
// account must sign in again.
func endsSession(err error) bool {
	switch identity.KindOf(err) {
	case identity.KindSessionEnded, identity.KindSignedOut, identity.KindBlocked:
		return true
	}
	return false
}

// backoff is how long to wait after a failed poll: what Graph asked for
// in Retry-After, else an exponential back-off from period, with jitter
// so that many screens do not retry in step.
func backoff(err error, failures int, period time.Duration) time.Duration {
	var ge *graph.Error
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		return ge.RetryAfter + rand.N(ge.RetryAfter/10+time.Millisecond)
	}
	d := min(period<<min(failures-1, 5), 15*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// endAccount signs the account out of every screen after its session
// ended for good (revoked, password reset, policy): its tokens are deleted,
// the event audited, and its screens go back to signing in with the reason.
func (m *Manager) endAccount(ctx context.Context, w *watch, cause error) {
	id := w.account.ID
	m.log.Warn("an account's session ended", "account", w.account.Username, "err", cause)
	if err := m.cfg.Identity.Forget(ctx, id); err != nil {
		m.log.Error("deleting tokens", "account", id, "err", err)
	}
	if err := m.cfg.Store.DeleteAccount(ctx, id); err != nil && !server.IsNotFound(err) {
		m.log.Error("deleting an account", "account", id, "err", err)
	}
	screens, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		m.log.Error("listing screens", "err", err)
	}
	for _, sc := range screens {
		if sc.AccountID != id {
			continue
		}
		if _, err := m.cfg.Store.UpdateScreen(ctx, sc.ID, func(sc *server.Screen) error {
			sc.AccountID = ""
			return nil
		}); err != nil {
			m.log.Error("signing a screen out", "screen", sc.ID, "err", err)
		}
		m.audit(ctx, server.AuditEvent{Kind: server.AuditRefreshFailed, ScreenID: sc.ID, ScreenName: sc.Name,
			Account: w.account.Username, Outcome: identity.KindOf(cause).String(), Detail: detail(cause)})
	}
	p := problemOf(cause)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watches[id] == w {
		delete(m.watches, id)
	}
	for s := range w.sessions {
		s.screen.AccountID = ""
		s.watch = nil
		m.showThenSignInLocked(s, p)
	}
	w.sessions = map[*session]bool{}
}

// showThenSignInLocked shows a problem for the hold time, then starts the
// sign-in loop.
func (m *Manager) showThenSignInLocked(s *session, p wire.Problem) {
	hold := m.cfg.ProblemHold
	p.Retry = m.cfg.Now().Add(hold)
	s.phase, s.code, s.problem = wire.PhaseError, nil, &p
	m.publishLocked(s)
	ctx := s.ctx
	s.signingIn = true
	m.goroutine(func() {
		ok := sleep(ctx, hold)
		m.mu.Lock()
		s.signingIn = false
		if ok && s.watch == nil && s.screen.AccountID == "" {
			m.startSignInLocked(s)
		}
		m.mu.Unlock()
	})
}

// initials returns up to two initials of a name ("Ada Lovelace" → "AL").
func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		r := []rune(f)[0]
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
		}
	}
	if len(out) > 2 {
		out = []rune{out[0], out[len(out)-1]}
	}
	return string(out)
}

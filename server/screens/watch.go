package screens

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// watch is one signed-in account shown on screens or followed (follow.go):
// one token cache, one refresh, one Graph poll for all of them. Fields are
// guarded by Manager.mu.
//
// With several replicas, an account's watch runs on every replica that
// shows or follows it, and only the one that owns the account (its lease
// in the Cluster) polls Graph and refreshes its tokens; it publishes what
// it read, and the others show that.
type watch struct {
	account   server.Account
	sessions  map[*session]bool
	followers map[Follower]bool
	cancel    context.CancelFunc
	data      accountData
	// presence is what followers were last told.
	presence server.Presence
	// wake cuts the poller's wait short: a screen now shows an account
	// that was only followed and needs its calendar, or an account only
	// shown is now followed and needs a faster pace; the account's lease
	// changed hands, or its owner published new data.
	wake chan struct{}
	// until is when this replica's lease on the account may lapse: it
	// owns the account (polls, refreshes) only before then.
	until time.Time
	// agendas are the agendas made at agendasAt from data, by zone and
	// privacy: the screens of an account that share those share one
	// agenda when they are rendered together (agendaLocked).
	agendas   map[agendaKey]*wire.Agenda
	agendasAt time.Time
}

type agendaKey struct {
	zone    string
	privacy bool
}

// agendaLocked is the agenda of the watch's account at now in zone, without
// details for a screen in privacy mode. It is made once for all the
// screens rendered at the same now (an update of the account renders them
// all with one reading of the clock) and must not be changed.
func (w *watch) agendaLocked(now time.Time, zone string, privacy bool) *wire.Agenda {
	if !w.agendasAt.Equal(now) || w.agendas == nil {
		w.agendas, w.agendasAt = map[agendaKey]*wire.Agenda{}, now
	}
	k := agendaKey{zone, privacy}
	if a, ok := w.agendas[k]; ok {
		return a
	}
	a := agendaFor(w.data.events, now, wire.Zone(zone))
	if privacy {
		a = withoutDetails(a)
	}
	w.agendas[k] = a
	return a
}

// ownsLocked reports whether this replica owns the account now.
func (w *watch) ownsLocked() bool { return time.Now().Before(w.until) }

// accountData is what Graph said of the account, last time it answered.
type accountData struct {
	name  string
	photo photo // zero when the account has none
	// presence is nil when the account has none (no Teams, no scope).
	presence *wire.Presence
	// events are the account's events around today, for every zone its
	// screens show; calendar is false when it has no calendar (no
	// mailbox, no scope).
	events   []graph.Event
	calendar bool
	fresh    time.Time
	stale    bool
}

// attachWatchLocked shows the account on the session, starting the
// account's watch when no other screen shows it.
func (m *Manager) attachWatchLocked(s *session, acct server.Account) {
	if m.sessions[s.id] != s {
		// The session stopped while its sign-in was being recorded: the
		// account is stored, and the screen's next session shows it.
		return
	}
	w := m.watches[acct.ID]
	if w == nil {
		w = m.startWatchLocked(acct)
	} else if len(w.sessions) == 0 {
		w.wakeUp() // the screen needs the calendar
	}
	w.sessions[s] = true
	s.watch = w
	s.phase, s.code, s.problem = wire.PhaseDashboard, nil, nil
	m.publishLocked(s)
}

// startWatchLocked starts the account's watch, with the followers that
// wait for it.
func (m *Manager) startWatchLocked(acct server.Account) *watch {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &watch{account: acct, sessions: map[*session]bool{}, followers: map[Follower]bool{}, cancel: cancel,
		data: accountData{name: acct.DisplayName}, wake: make(chan struct{}, 1)}
	// Until the first poll, followers hear "not read yet".
	w.presence = server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Updated: m.cfg.Now(), Stale: true, SignedIn: true}
	m.watches[acct.ID] = w
	m.followLocked(w)
	m.goroutine(func() { m.keepLease(ctx, w) })
	m.goroutine(func() { m.poll(ctx, w) })
	return w
}

// wakeUp cuts the poller's wait short.
func (w *watch) wakeUp() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
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
	m.stopIfUnusedLocked(w)
}

// poller is what one watch knows between polls.
type poller struct {
	profiled bool      // /me and the photo were read
	calendar time.Time // when the calendar was last read
	// noCalendarUntil skips the calendar of an account that has none, but
	// asks again now and then (a mailbox may be added).
	noCalendarUntil time.Time
}

// poll reads Graph for the account while a screen shows it or something
// follows it: presence every PollEvery (FollowEvery when followed,
// within the tenant's budget: pace), and for screens the calendar every
// CalendarEvery and the profile and photo once, all in one JSON batch per
// tick. It honours Retry-After and backs off with jitter on failures,
// keeping the last data, marked stale. While another replica owns the
// account, it shows what that one published instead, and polls at once
// when it takes the account over.
func (m *Manager) poll(ctx context.Context, w *watch) {
	defer w.cancel() // also when the account's session ended (endAccount)
	var p poller
	failures := 0
	next := time.Now()
	owned := false
	for ctx.Err() == nil {
		m.mu.Lock()
		owns := w.ownsLocked()
		m.mu.Unlock()
		if owns != owned {
			// A new owner reads everything again.
			owned, p, failures = owns, poller{}, 0
		}
		if !owned {
			// Woken by its owner's word of new data or by a change of
			// lease; now and then by itself, for word that was lost.
			m.follow(ctx, w)
			t := time.NewTimer(m.cfg.PollEvery)
			select {
			case <-t.C:
			case <-w.wake:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return
			}
			next = time.Now()
			continue
		}
		if !m.pace.await(ctx) {
			return
		}
		m.cfg.Metrics.PollLag(time.Since(next))
		err := m.withToken(ctx, w, func(token string) error { return m.readAccount(ctx, w, &p, token) })
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		wait := m.periodLocked(w)
		m.mu.Unlock()
		if graph.StatusOf(err) == http.StatusTooManyRequests {
			m.pace.throttled(time.Now())
		}
		switch {
		case err == nil:
			failures = 0
		case endsSession(err):
			m.endAccount(ctx, w, err)
			return
		default:
			failures++
			wait = max(backoff(err, failures, m.cfg.PollEvery), wait)
			m.log.Warn("reading Microsoft Graph", "account", w.account.Username, "err", err, "retry_in", wait.String())
			m.updateWatch(w, func(d *accountData) { d.stale = true })
		}
		next = time.Now().Add(wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.wake:
			t.Stop()
			next = time.Now()
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// calendarWindow is the span of events an account's watch reads: today and
// tomorrow in any time zone a screen may show.
func calendarWindow(now time.Time) (time.Time, time.Time) {
	return now.Add(-38 * time.Hour), now.Add(62 * time.Hour)
}

// readAccount makes one poll: one $batch with what is due.
func (m *Manager) readAccount(ctx context.Context, w *watch, p *poller, token string) error {
	now := m.cfg.Now()
	m.mu.Lock()
	// The calendar and profile are for screens: an account that is only
	// followed costs one presence request a poll.
	shown := len(w.sessions) > 0
	m.mu.Unlock()
	reqs := []graph.BatchRequest{{ID: "presence", Method: "GET", URL: "/me/presence"}}
	wantCalendar := shown && now.Sub(p.calendar) >= m.cfg.CalendarEvery && !now.Before(p.noCalendarUntil)
	profile := shown && !p.profiled
	if wantCalendar {
		from, to := calendarWindow(now)
		reqs = append(reqs, graph.BatchRequest{ID: "calendar", Method: "GET", URL: graph.CalendarViewPath(from, to), Headers: graph.UTCPreference()})
	}
	if profile {
		reqs = append(reqs,
			graph.BatchRequest{ID: "me", Method: "GET", URL: "/me"},
			graph.BatchRequest{ID: "photo", Method: "GET", URL: "/me/photo/$value"})
	}
	res, err := m.cfg.Graph.Batch(ctx, token, reqs)
	if err != nil {
		return err
	}
	// A failure of any part fails the poll (and is retried whole), except
	// what only says the account lacks something.
	var presence *wire.Presence
	var pr graph.Presence
	switch err := res["presence"].Decode(&pr); {
	case err == nil:
		presence = &wire.Presence{Availability: pr.Availability, Activity: pr.Activity}
	case lacks(err):
		// No Teams licence or no Presence.Read: nothing to show.
	default:
		return err
	}
	var events []graph.Event
	hasCalendar := true
	if wantCalendar {
		var page graph.EventPage
		switch err := res["calendar"].Decode(&page); {
		case err == nil:
			if events, err = m.cfg.Graph.More(ctx, token, page); err != nil {
				return err
			}
		case lacks(err):
			hasCalendar = false
			p.noCalendarUntil = now.Add(time.Hour)
		default:
			return err
		}
	}
	var me graph.User
	var pic photo
	if profile {
		if err := res["me"].Decode(&me); err != nil {
			return err
		}
		var b64 string
		switch err := res["photo"].Decode(&b64); {
		case err == nil:
			if raw, err := base64.StdEncoding.DecodeString(b64); err == nil && len(raw) > 0 && len(raw) < maxPhoto {
				pic = newPhoto(raw, res["photo"].Headers["Content-Type"])
			}
		case graph.StatusOf(err) == http.StatusNotFound:
			// No photo: the screen shows initials.
		default:
			return err
		}
	}

	m.updateWatch(w, func(d *accountData) {
		d.presence = presence
		if wantCalendar {
			d.events, d.calendar = events, hasCalendar
			if !hasCalendar {
				d.events = nil
			}
		}
		if profile {
			if me.DisplayName != "" {
				d.name = me.DisplayName
			}
			d.photo = pic
		}
		// Freshness is shown to the minute: a poll that changes nothing
		// else does not push a new state more than once a minute.
		d.fresh, d.stale = now.Truncate(time.Minute), false
	})
	if wantCalendar {
		p.calendar = now
	}
	p.profiled = p.profiled || profile
	return nil
}

// maxPhoto bounds a profile photo kept for screens.
const maxPhoto = 1 << 20

// photo is an account's profile photo. Screens load it by its URL, which
// names its content: a state pushed to a screen carries the URL, not the
// picture, and the browser keeps the picture for as long as it does not
// change.
type photo struct {
	data  []byte
	ctype string
	tag   string // hex of the start of the data's SHA-256
}

func newPhoto(data []byte, ctype string) photo {
	// Only an image type goes back out with the bytes (nosniff is set on
	// every answer).
	if !strings.HasPrefix(ctype, "image/") || strings.ContainsAny(ctype, "\r\n") {
		ctype = "image/jpeg"
	}
	sum := sha256.Sum256(data)
	return photo{data: data, ctype: ctype, tag: hex.EncodeToString(sum[:12])}
}

// url is where a screen loads the photo; "" when there is none.
func (p photo) url(screenID string) string {
	if p.tag == "" {
		return ""
	}
	return wire.PhotoPath + screenID + "/" + p.tag
}

// Photo returns the profile photo a screen shows now, when tag names it:
// the bytes and their media type. Nothing else is ever served from it, so
// a screen only ever gets the photo of the account it shows.
func (m *Manager) Photo(screenID, tag string) (data []byte, ctype string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[screenID]
	if s == nil || s.watch == nil || s.phase != wire.PhaseDashboard {
		return nil, "", false
	}
	p := s.watch.data.photo
	if p.tag == "" || p.tag != tag {
		return nil, "", false
	}
	return p.data, p.ctype, true
}

// lacks reports an answer that means the account does not have the thing
// asked for (403: scope not granted; 404: no Teams licence, no mailbox),
// which is not an error to show.
func lacks(err error) bool {
	switch graph.StatusOf(err) {
	case http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

// withToken runs f with the account's access token. When Graph refuses the
// token (401: expired or revoked early), it gets a newer one and tries once
// more.
func (m *Manager) withToken(ctx context.Context, w *watch, f func(token string) error) error {
	token, src, err := m.cfg.Identity.Token(ctx, w.account.ID, "")
	m.countRefresh(src, err)
	if err != nil {
		return err
	}
	err = f(token)
	if graph.StatusOf(err) != http.StatusUnauthorized {
		return err
	}
	token, src, err = m.cfg.Identity.Token(ctx, w.account.ID, token)
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

// updateWatch changes the account's data and publishes it to its screens
// and followers and, when this replica owns the account, to the other
// replicas.
func (m *Manager) updateWatch(w *watch, f func(*accountData)) {
	m.mu.Lock()
	f(&w.data)
	w.agendas = nil // made from the data before the change
	now := m.cfg.Now()
	for s := range w.sessions {
		m.publishAtLocked(s, now)
	}
	m.tellLocked(w)
	owned := w.ownsLocked()
	data, err := encodeData(w.data)
	m.mu.Unlock()
	if !owned {
		return
	}
	if err != nil {
		m.log.Error("encoding an account's data", "account", w.account.Username, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
	defer cancel()
	if err := m.cfg.Cluster.PublishAccount(ctx, w.account.ID, data); err != nil && ctx.Err() == nil {
		m.log.Warn("publishing an account's data to the other replicas", "account", w.account.Username, "err", err)
	}
}

// keepLease takes or renews this replica's lease on the account every
// LeaseRenew while the watch runs, and gives it up when the watch stops,
// so that another replica that shows the account takes it over at once.
func (m *Manager) keepLease(ctx context.Context, w *watch) {
	id := w.account.ID
	release := func() {
		m.mu.Lock()
		had := w.ownsLocked()
		w.until = time.Time{}
		m.mu.Unlock()
		if had {
			m.cfg.Metrics.Lease(false)
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := m.cfg.Cluster.Release(rctx, id); err != nil {
			m.log.Warn("giving an account's lease up", "account", w.account.Username, "err", err)
		}
	}
	for {
		// A renewal that cannot answer within LeaseRenew counts as
		// failed: the lease runs out on its own, and then this replica
		// stops polling.
		rctx, cancel := context.WithTimeout(ctx, m.cfg.LeaseRenew)
		until, err := m.cfg.Cluster.Own(rctx, id)
		cancel()
		if ctx.Err() != nil {
			release()
			return
		}
		if err != nil {
			m.log.Warn("renewing an account's lease", "account", w.account.Username, "err", err)
		}
		m.mu.Lock()
		had := w.ownsLocked()
		if err == nil {
			w.until = until
		}
		has := w.ownsLocked()
		if had != has {
			w.wakeUp()
		}
		m.mu.Unlock()
		if had != has {
			m.cfg.Metrics.Lease(has)
			m.log.Info("account lease", "account", w.account.Username, "owned", has)
		}
		if err == nil && until.Equal(forever) {
			// A lease that never lapses (an edge server alone) needs no
			// renewing: it is given up when the watch stops, and no
			// goroutine waits for that meanwhile, nor wakes every
			// LeaseRenew. The release still counts as one of the
			// manager's goroutines, so that Close waits for it: this
			// goroutine is one, so the count is not zero when it grows.
			m.wg.Add(1)
			context.AfterFunc(ctx, func() {
				defer m.wg.Done()
				release()
			})
			return
		}
		if !sleep(ctx, m.cfg.LeaseRenew) {
			release()
			return
		}
	}
}

// follow shows the account's data as its owner published it last.
func (m *Manager) follow(ctx context.Context, w *watch) {
	b, err := m.cfg.Cluster.AccountData(ctx, w.account.ID)
	if server.IsNotFound(err) {
		return // its owner has not read Graph yet
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("reading an account's data", "account", w.account.Username, "err", err)
		}
		return
	}
	d, err := decodeData(b)
	if err != nil {
		m.log.Error("reading an account's data", "account", w.account.Username, "err", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.ownsLocked() {
		return // taken over meanwhile: its own poll comes next
	}
	w.data = d
	w.agendas = nil // made from the data before the change
	now := m.cfg.Now()
	for s := range w.sessions {
		m.publishAtLocked(s, now)
	}
	m.tellLocked(w)
}

// endsSession reports an identity failure that no retry will mend: the
// account must sign in again.
func endsSession(err error) bool {
	switch identity.KindOf(err) {
	case identity.KindSessionEnded, identity.KindSignedOut, identity.KindBlocked, identity.KindCodeFlowBlocked:
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
	// Begun, it finishes: a shutdown or the last screen going away must
	// not leave a revoked account's tokens, or its screens, behind.
	ctx = context.WithoutCancel(ctx)
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
		m.publishScreen(ctx, sc.ID)
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
		if identity.KindOf(cause) == identity.KindCodeFlowBlocked && m.modeLocked(s) != server.SignInDeviceCode {
			// A session begun with a device code, refused at its refresh
			// by the organisation's block (protocol tracking): the
			// screen signs in by QR code, and says why.
			s.codeBlocked = true
			m.startSignInLocked(s)
			continue
		}
		m.showThenSignInLocked(s, p)
	}
	w.sessions = map[*session]bool{}
	m.unfollowLocked(w)
}

// showThenSignInLocked shows a problem for the hold time, then starts the
// sign-in loop.
func (m *Manager) showThenSignInLocked(s *session, p wire.Problem) {
	if s.ctx.Err() != nil {
		return // the session has ended, or the server is stopping
	}
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

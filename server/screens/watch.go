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
	"sync/atomic"
	"time"
	"unicode"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/source"
)

// watch is one signed-in account's source: one token cache, one refresh,
// one Graph poll for every screen that shows the account and every light
// key that follows it (source.Member). Its snapshots are *accountData.
//
// With several replicas, an account's source runs on every replica that
// shows or follows it, and only the one that owns it (its lease in the
// Cluster) polls Graph and refreshes its tokens; it publishes each
// snapshot, and the others show those.
type watch struct {
	m       *Manager
	account server.Account
	src     *source.Source[*accountData]
	// shown counts the sessions that show the account, followed the
	// followers of its presence: the calendar and profile are read for
	// screens only, and a followed account's presence is read faster.
	shown, followed atomic.Int32
	// zone is the time zone of the screen that last came to show the
	// account or changed its zone: its calendar's window turns at
	// midnight there.
	zone atomic.Pointer[string]
}

// Source is the account's source.
func (w *watch) Source() *source.Source[*accountData] { return w.src }

// accountData is what Graph said of the account, last time it answered:
// the value of a snapshot of its source, never changed once made.
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
	// checkedIn are the ids of the meetings checked in on the room's
	// panels (room.go), from the store.
	checkedIn []string
	// follow is what followers of the account are told of its presence:
	// its Updated is when it last changed.
	follow server.Presence
}

// newWatch makes the source of an account (started by the Set).
func (m *Manager) newWatch(acct server.Account) *watch {
	w := &watch{m: m, account: acct}
	// Until the first poll, followers hear "not read yet".
	first := &accountData{name: acct.DisplayName, follow: server.Presence{
		Availability: presenceUnknown, Activity: presenceUnknown, Updated: m.cfg.Now(), Stale: true, SignedIn: true}}
	w.src = source.New(m.sources, source.Spec[*accountData]{
		Key:         acct.ID,
		Initial:     first,
		Own:         func() source.Poller { return &poller{m: m, w: w, next: time.Now()} },
		FollowEvery: m.cfg.PollEvery,
		Lease: func(owned bool) {
			m.cfg.Metrics.Lease(owned)
			m.log.Info("account lease", "account", acct.Username, "owned", owned)
			m.leased(w, owned)
		},
		Encode: encodeData,
		Decode: func(old *accountData, b []byte) (*accountData, error) {
			d, err := decodeData(b)
			if err != nil {
				return nil, err
			}
			d.follow = followOf(old.follow, d, m.cfg.Now())
			return d, nil
		},
	})
	return w
}

// update makes the account's next snapshot: f changes a copy of the
// latest data (slices in it are shared: replace them, never change them).
// A copy that f left as it was makes none: the screens would render the
// same again.
func (w *watch) update(f func(*accountData)) {
	w.src.Update(func(old *accountData) (*accountData, bool) {
		d := *old
		f(&d)
		d.follow = followOf(old.follow, &d, w.m.cfg.Now())
		return &d, !sameData(old, &d)
	})
}

// sameData reports whether a and b hold the same: slices are compared by
// identity, as they are replaced, never changed.
func sameData(a, b *accountData) bool {
	return a.name == b.name && a.photo.tag == b.photo.tag && samePresence(a.presence, b.presence) &&
		sameSlice(a.events, b.events) && a.calendar == b.calendar && a.fresh.Equal(b.fresh) && a.stale == b.stale &&
		sameSlice(a.checkedIn, b.checkedIn) && a.follow == b.follow
}

// sameSlice reports whether a and b are the same slice (not merely equal).
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// followOf is what followers are told of d's presence: what they were told
// (old) when that says the same, else the new presence as of now.
func followOf(old server.Presence, d *accountData, now time.Time) server.Presence {
	// Stale until Graph first answered, and while it does not.
	p := server.Presence{Availability: presenceUnknown, Activity: presenceUnknown, Stale: d.stale || d.fresh.IsZero(), SignedIn: true}
	if pr := d.presence; pr != nil {
		p.Availability, p.Activity = pr.Availability, pr.Activity
	}
	if p.Same(old) {
		return old
	}
	p.Updated = now
	return p
}

// shown is a session's subscription to the source of the account it shows.
type shown struct {
	s      *session
	w      *watch
	cancel func()
}

// Snapshot shows the account's new snapshot on the screen, unless the
// session moved on or has a newer one.
func (sh *shown) Snapshot(snap *source.Snapshot[*accountData]) {
	s := sh.s
	s.mu.Lock()
	if s.shown != sh || (s.snap != nil && snap.Seq <= s.snap.Seq) {
		s.mu.Unlock()
		return
	}
	s.snap = snap
	// The snapshot's time is the clock of every screen it is shown on:
	// they share what depends on it (their agenda).
	lk := s.m.lookLocked(s, snap.At)
	s.mu.Unlock()
	s.m.emit(s, lk)
}

// showLocked shows the account on the session, starting the account's
// source when nothing else shows or follows it. It reports whether the
// screen's state is to be published.
func (m *Manager) showLocked(s *session, acct server.Account) bool {
	if s.stopped {
		// The session stopped while its sign-in was being recorded: the
		// account is stored, and the screen's next session shows it.
		return false
	}
	m.unshowLocked(s)
	sh := &shown{s: s}
	sub, ok := m.accounts.Subscribe(acct.ID, func() *watch {
		// Shown from its first poll on, which reads the calendar and
		// profile for screens.
		w := m.newWatch(acct)
		w.shown.Store(1)
		return w
	}, sh)
	if !ok {
		return false // the server is stopping
	}
	sh.w, sh.cancel = sub.Member, sub.Cancel
	zone := m.zoneLocked(s)
	s.windowZone = zone
	sub.Member.zone.Store(&zone)
	if !sub.Started && sub.Member.shown.Add(1) == 1 {
		sub.Member.src.Wake() // the screen needs the calendar
	}
	s.shown, s.snap = sh, sub.Latest
	s.phase, s.code, s.problem, s.consent = wire.PhaseDashboard, nil, nil, nil
	m.syncBoardLocked(s)
	if s.board != nil && !sub.Started {
		// Signed in again (with a permission the board lacked, maybe):
		// its board reads Graph now with the new tokens.
		s.board.b.src.Wake()
	}
	if sub.Started {
		// Light keys that wait for the account to sign in follow it now.
		m.adopt(sub.Member)
	}
	return true
}

// unshowLocked takes the session off its account's source, which stops
// when nothing else shows or follows the account. The account stays signed
// in: its screens pick it up when they connect again.
func (m *Manager) unshowLocked(s *session) {
	sh := s.shown
	if sh == nil {
		return
	}
	s.shown, s.snap = nil, nil
	m.syncBoardLocked(s)
	sh.w.shown.Add(-1)
	sh.cancel()
}

// poller is what one owner of an account's source knows between polls: a
// new owner reads the presence and profile again, and continues the
// calendar's rounds of delta from where the store says they stand.
type poller struct {
	m        *Manager
	w        *watch
	profiled bool // /me and the photo were read
	// presenceAt and calendarAt are when the presence and the calendar
	// are read next, on the manager's clock.
	presenceAt, calendarAt time.Time
	// cal is where the calendar stands in its rounds of delta; told says
	// whether the account's snapshot holds its events.
	cal  rounds
	told bool
	// noCalendarUntil skips the calendar of an account that has none,
	// noPresenceUntil the presence of one that has none (no Teams: a
	// room), so that it costs nothing of the tenant's presence budget;
	// both ask again now and then (a mailbox or a licence may be added).
	noCalendarUntil, noPresenceUntil time.Time
	failures                         int
	// next is when the next poll is due.
	next time.Time
}

// Poll reads Graph for the account: presence every PollEvery (FollowEvery
// when followed, within the tenant's budget: pace) in one JSON batch with,
// the first time, the profile and photo; and for screens the calendar every
// CalendarEvery by a round of calendarView delta. A poll woken before
// either is due (a screen came to show the account, a light to follow it,
// the lease was taken) reads both. It honours Retry-After and backs off
// with jitter on failures, keeping the last data, marked stale.
func (p *poller) Poll(ctx context.Context) time.Duration {
	m, w := p.m, p.w
	now := m.cfg.Now()
	shown := w.shown.Load() > 0
	presence := !now.Before(p.presenceAt)
	calendar := shown && !now.Before(p.calendarAt)
	if !presence && !calendar {
		presence, calendar = true, shown
	}
	calendar = calendar && !now.Before(p.noCalendarUntil)
	presence = presence && !now.Before(p.noPresenceUntil)
	if presence && !m.pace.await(ctx) {
		return 0
	}
	m.cfg.Metrics.PollLag(max(m.cfg.Now().Sub(p.next), 0))
	err := m.withToken(ctx, w, func(token string) error { return p.read(ctx, token, presence, calendar) })
	if ctx.Err() != nil {
		return 0
	}
	period := m.period(w)
	now = m.cfg.Now()
	if graph.StatusOf(err) == http.StatusTooManyRequests {
		m.pace.throttled(now)
	}
	switch {
	case err == nil:
		p.failures = 0
		switch {
		case presence && now.Before(p.noPresenceUntil):
			p.presenceAt = p.noPresenceUntil // it has none: found now
		case presence:
			p.presenceAt = now.Add(spread(period))
		case p.presenceAt.Before(now):
			p.presenceAt = now.Add(spread(period))
			if p.noPresenceUntil.After(p.presenceAt) {
				p.presenceAt = p.noPresenceUntil
			}
		}
		if calendar {
			p.calendarAt = now.Add(spread(m.cfg.CalendarEvery))
		}
		return p.wait(now, period, shown)
	case endsSession(err):
		m.endAccount(ctx, w, err)
		return 0
	case errors.Is(err, identity.ErrCacheUnreadable):
		// Not ready for this account: another replica, started with
		// the key that sealed its cache, takes it over.
		p.failures++
		if w.src.GiveUp(cacheHoldOff) {
			m.log.Error("this replica cannot open an account's token cache (sealed with another PLACARD_KEY, or damaged): it gives the account's lease up, so that a replica that can open it takes over",
				"account", w.account.Username, "err", err, "again_in", cacheHoldOff.String())
			w.update(func(d *accountData) { d.stale = true })
			return p.retry(now, period)
		}
		wait := p.retry(now, max(backoff(err, p.failures, m.cfg.PollEvery), period))
		m.log.Error("the account's token cache does not open (sealed with another key, or damaged): sign the account in again",
			"account", w.account.Username, "err", err, "retry_in", wait.String())
		w.update(func(d *accountData) { d.stale = true })
		return wait
	default:
		p.failures++
		wait := p.retry(now, max(backoff(err, p.failures, m.cfg.PollEvery), period))
		m.log.Warn("reading Microsoft Graph", "account", w.account.Username, "err", err, "retry_in", wait.String())
		w.update(func(d *accountData) { d.stale = true })
		return wait
	}
}

// spread is a period moved by up to a twentieth of it either way, at
// random. Accounts whose polls fall together (signed in together, or held
// up together behind the store or the processor) would otherwise poll
// together ever after: a burst of requests to Graph, and of frames to
// their screens, where a change waits behind the others'. Spread, they
// drift apart within a few periods, and poll at the period on average.
func spread(period time.Duration) time.Duration {
	return period - period/20 + rand.N(period/10+1)
}

// wait is how long until the presence or, for screens, the calendar is
// due, at most a period (a clock set back does not hold polls back).
func (p *poller) wait(now time.Time, period time.Duration, shown bool) time.Duration {
	due := p.presenceAt
	if shown && p.calendarAt.Before(due) {
		due = p.calendarAt
	}
	wait := min(max(due.Sub(now), 0), period)
	p.next = now.Add(wait)
	return wait
}

// retry has everything read again after wait: a failed poll is retried
// whole.
func (p *poller) retry(now time.Time, wait time.Duration) time.Duration {
	p.presenceAt, p.calendarAt, p.next = now.Add(wait), now.Add(wait), now.Add(wait)
	return wait
}

// read makes one poll: one $batch with the presence (and the profile, the
// first time) when presence is set, and a round of the calendar's delta
// when calendar is set.
func (p *poller) read(ctx context.Context, token string, presence, calendar bool) error {
	m, w := p.m, p.w
	now := m.cfg.Now()
	// The calendar and profile are for screens: an account that is only
	// followed costs one presence request a poll.
	shown := w.shown.Load() > 0
	profile := shown && !p.profiled
	var pres *wire.Presence
	var me graph.User
	var pic photo
	if presence || profile {
		var reqs []graph.BatchRequest
		if presence {
			reqs = append(reqs, graph.BatchRequest{ID: "presence", Method: "GET", URL: "/me/presence"})
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
		// A failure of any part fails the poll (and is retried whole),
		// except what only says the account lacks something.
		var pr graph.Presence
		switch err := res["presence"].Decode(&pr); {
		case !presence:
		case err == nil:
			pres = &wire.Presence{Availability: pr.Availability, Activity: pr.Activity}
		case lacks(err):
			// No Teams licence or no Presence.Read: nothing to show,
			// nor to ask for again for a while.
			p.noPresenceUntil = now.Add(time.Hour)
		default:
			return err
		}
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
	}
	// batch sets what the batch read. When the calendar's round is still
	// to come, it goes first (a snapshot only if it changed something), so
	// that a change of presence waits for no other request.
	batch := func(d *accountData) {
		if presence {
			d.presence = pres
		}
		if profile {
			if me.DisplayName != "" {
				d.name = me.DisplayName
			}
			d.photo = pic
		}
	}
	if calendar {
		w.update(batch)
	}
	var events []graph.Event
	hasCalendar, tell := true, false
	if calendar {
		changed, err := p.delta(ctx, token, now)
		switch {
		case err == nil:
			tell = changed || !p.told
			if tell {
				events = p.cal.events
			}
		case lacks(err):
			hasCalendar, tell = false, true
			p.noCalendarUntil = now.Add(time.Hour)
			p.cal = rounds{loaded: true}
		default:
			return err
		}
	}

	w.update(func(d *accountData) {
		batch(d)
		if tell {
			d.events, d.calendar = events, hasCalendar
		}
		// Freshness is shown to the minute: a poll that changes nothing
		// else does not push a new state more than once a minute.
		d.fresh, d.stale = now.Truncate(time.Minute), false
	})
	p.told = p.told || tell
	p.profiled = p.profiled || profile
	if calendar && hasCalendar {
		p.store(ctx, now)
	}
	return nil
}

// samePresence reports whether a and b say the same (nil: none read).
func samePresence(a, b *wire.Presence) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
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
	return photoURL(screenID, p.tag)
}

// photoURL is where a screen loads the photo whose tag is tag.
func photoURL(screenID, tag string) string { return wire.PhotoPath + screenID + "/" + tag }

// Photo returns the profile photo a screen shows now, when tag names it:
// the bytes and their media type. Nothing else is ever served from it, so
// a screen only ever gets the photo of the account it shows.
func (m *Manager) Photo(screenID, tag string) (data []byte, ctype string, ok bool) {
	s := m.session(screenID)
	if s == nil {
		return nil, "", false
	}
	s.mu.Lock()
	snap, board, phase := s.snap, s.boardSnap, s.phase
	s.mu.Unlock()
	if snap == nil || phase != wire.PhaseDashboard {
		return nil, "", false
	}
	if board != nil {
		// A board's screen shows its people's photos, and no one's
		// own.
		return board.Value.photo(tag)
	}
	p := snap.Value.photo
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
	return m.withAccountToken(ctx, w.account, f)
}

// withAccountToken is withToken for any source of the account (a board).
func (m *Manager) withAccountToken(ctx context.Context, acct server.Account, f func(token string) error) error {
	token, src, err := m.cfg.Identity.Token(ctx, acct.ID, "")
	m.countRefresh(src, err)
	if err != nil {
		return err
	}
	err = f(token)
	if graph.StatusOf(err) != http.StatusUnauthorized {
		return err
	}
	token, src, err = m.cfg.Identity.Token(ctx, acct.ID, token)
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

// cacheHoldOff is how long a replica that could not open an account's
// token cache leaves its lease to the others before it tries again.
const cacheHoldOff = time.Minute

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
// the event audited, its source stopped, its screens go back to signing in
// with the reason, and its followers are told it is signed in nowhere.
func (m *Manager) endAccount(ctx context.Context, w *watch, cause error) {
	// Begun, it finishes: a shutdown or the last screen going away must
	// not leave a revoked account's tokens, or its screens, behind.
	ctx = context.WithoutCancel(ctx)
	id := w.account.ID
	if !w.src.Owns() {
		// Only the account's owner ends it. A replica whose lease
		// lapsed while its refresh was on its way (it was paused, or cut
		// off) may have sent a refresh token the new owner has replaced
		// since; the owner's own refresh says whether the session ended.
		m.log.Warn("an account's refresh failed on a replica that no longer owns the account: its owner decides whether its session ended",
			"account", w.account.Username, "err", cause)
		return
	}
	m.log.Warn("an account's session ended", "account", w.account.Username, "err", cause)
	if err := m.cfg.Identity.Forget(ctx, id); err != nil {
		m.log.Error("deleting tokens", "account", id, "err", err)
	}
	if err := m.cfg.Store.DeleteAccount(ctx, id); err != nil && !server.IsNotFound(err) {
		m.log.Error("deleting an account", "account", id, "err", err)
	}
	if err := m.cfg.Store.DeleteCalendarSync(ctx, id); err != nil {
		m.log.Error("forgetting an account's calendar", "account", id, "err", err)
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
	for _, sub := range w.src.Stop() {
		switch sub := sub.(type) {
		case *shown:
			m.endShown(sub, cause, p)
		case *following:
			m.endFollowing(sub)
		}
	}
}

// endShown takes a session off an account whose session ended, and has it
// sign in again with the reason.
func (m *Manager) endShown(sh *shown, cause error, p wire.Problem) {
	s := sh.s
	s.mu.Lock()
	if s.shown != sh {
		s.mu.Unlock()
		return
	}
	s.shown, s.snap = nil, nil
	s.m.syncBoardLocked(s)
	sh.w.shown.Add(-1)
	s.screen.AccountID = ""
	if identity.KindOf(cause) == identity.KindCodeFlowBlocked && m.modeLocked(s) != server.SignInDeviceCode {
		// A session begun with a device code, refused at its refresh by
		// the organisation's block (protocol tracking): the screen signs
		// in by QR code, and says why.
		s.codeBlocked = true
		m.startSignInLocked(s)
		s.mu.Unlock()
		return
	}
	publish := m.showThenSignInLocked(s, p)
	s.mu.Unlock()
	if publish {
		m.publish(s)
	}
}

// showThenSignInLocked shows a problem for the hold time, then starts the
// sign-in loop. It reports whether the screen's state is to be published.
func (m *Manager) showThenSignInLocked(s *session, p wire.Problem) bool {
	if s.ctx.Err() != nil {
		return false // the session has ended, or the server is stopping
	}
	hold := m.cfg.ProblemHold
	p.Retry = m.cfg.Now().Add(hold)
	s.phase, s.code, s.problem = wire.PhaseError, nil, &p
	ctx := s.ctx
	s.signingIn = true
	m.goroutine(func() {
		ok := sleep(ctx, hold)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.signingIn = false
		if ok && s.shown == nil && s.screen.AccountID == "" {
			m.startSignInLocked(s)
		}
	})
	return true
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

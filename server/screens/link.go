package screens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
)

// Sign-in by QR: the screen's QR code is a one-time link to the edge
// server (LinkPath + token), bound to that screen and replaced with its
// code. The first browser to open it holds it (a cookie): any other is
// told it was opened on another phone. Once a browser holds it, the
// screen shows a number, which that phone types; only then is it sent to
// Microsoft's interactive sign-in (authorization code with PKCE, asked
// with prompt=select_account), whose redirect comes back to CallbackPath
// with the state bound to that phone's browser.
//
// Someone who sees the screen (or a photo of it) and forwards the link to
// a person who cannot see it gets nowhere: the link is theirs once they
// opened it, and the person it was forwarded to is told it was opened on
// another phone. If they forward it unopened, that person sees no number
// on their screen to type, and a guess is right once in 90, after which
// the link is dead.
//
// A link and the sign-in it leads to live in the store (server.SignInLink),
// so that whichever replica a phone's request reaches serves it, and each
// step (held, typed, redeemed, taken) is taken once, atomically, whichever
// replica takes it. The replicas tell each other of a step as of a
// change of the screen (Cluster.PublishScreen), and the screen's replica
// and the phone's wait on that.
const (
	LinkPath     = "/signin/"
	CallbackPath = "/signin/callback"
)

// MatchDigits is how many digits the number a screen shows has: the phone
// types it.
const MatchDigits = 2

// authWindow is how long a phone that typed the right number has to
// finish signing in at Microsoft (multi-factor authentication included):
// the identity platform's authorization codes live 10 minutes.
const authWindow = 10 * time.Minute

// pickWindow keeps a link that a phone opened from being replaced under
// the person about to type the number.
const pickWindow = 2 * time.Minute

// DefaultTypedWait is how long a screen keeps showing a link whose number
// was typed before it offers a fresh one: the person at Microsoft's page
// may still finish (until authWindow), but someone else may want to sign
// in, and a phone that gave up must not hold the screen for 10 minutes.
const DefaultTypedWait = 3 * time.Minute

// DefaultLinkLifetime is how long a QR code's link works when no device
// code sets the pace: the device code's own lifetime (expires_in 900).
const DefaultLinkLifetime = 15 * time.Minute

// linkPoll is how often a wait on a link reads it again when no word of
// a change came: word comes at once (from this replica, or by the
// cluster), and this only bounds a word lost.
const linkPoll = 30 * time.Second

// Outcomes of a link or callback, as the phone's result page names them
// (its signin-result data-outcome).
const (
	LinkSignedIn        = "signed_in"
	LinkDeclined        = "declined"
	LinkExpired         = "expired"
	LinkUsed            = "used"
	LinkWrongNumber     = "wrong_number"
	LinkInvalidState    = "invalid_state"
	LinkOpenedElsewhere = "opened_elsewhere"
	LinkFailed          = "error"
)

// LinkError is a sign-in link or callback that was refused, or a sign-in
// that failed: Outcome says which, in the words of the phone's page.
type LinkError struct {
	Outcome string
	// Screen is the screen's name, when the link named one, and Lang the
	// language the screen speaks ("" when unknown).
	Screen string
	Lang   string
	err    error
}

func (e *LinkError) Error() string {
	msg := "sign-in link: " + e.Outcome
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *LinkError) Unwrap() error { return e.err }

// errWrongNumber ends a link whose phone typed another number than the
// screen's.
var errWrongNumber = errors.New("a phone typed another number than the one the screen showed")

// errCameBackLate is a sign-in whose phone came back from the identity
// platform after its link was withdrawn, or after its time.
var errCameBackLate = &identity.AuthError{Kind: identity.KindExpired, Description: "the sign-in came back after its link was withdrawn or had expired"}

// errNotTaken is the sign-in of a link that the screen gave up before it
// could take it.
var errNotTaken = errors.New("the screen moved on before it took the sign-in")

// links tells those who wait on a screen's sign-in links (the screen's
// offer, a phone's callback) that one of them changed, here or on another
// replica. Its lock guards its map, and is taken alone.
type links struct {
	mu      sync.Mutex
	waiting map[string]chan struct{} // by screen id, closed at a change
	pruned  time.Time                // when the store's old links were last forgotten
	// scopes are the device codes' pages of the choice of a group's
	// sign-in, by hashKey of their token (group.go).
	scopes map[string]*scopePage
}

func newLinks() *links {
	return &links{waiting: map[string]chan struct{}{}, scopes: map[string]*scopePage{}}
}

// watch returns a channel closed at the next change of a link of the
// screen.
func (ls *links) watch(screenID string) <-chan struct{} {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ch := ls.waiting[screenID]
	if ch == nil {
		ch = make(chan struct{})
		ls.waiting[screenID] = ch
	}
	return ch
}

// changed tells those who wait on the screen's links.
func (ls *links) changed(screenID string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ch := ls.waiting[screenID]; ch != nil {
		close(ch)
		delete(ls.waiting, screenID)
	}
}

// changedAll tells everyone who waits: word of changes may have been
// missed.
func (ls *links) changedAll() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for id, ch := range ls.waiting {
		close(ch)
		delete(ls.waiting, id)
	}
}

// linkChanged tells those who wait on the screen's links, here and on the
// other replicas, that one changed.
func (m *Manager) linkChanged(ctx context.Context, screenID string) {
	m.links.changed(screenID)
	m.publishScreen(ctx, screenID)
}

// hashKey keys secrets by their hash, so that a lookup's timing says
// nothing about a secret and the store holds none.
func hashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Labels of what a link seals: a sealed value moved to another link does
// not open.
func matchLabel(id string) string { return "signin-link-number:" + id }
func authLabel(id string) string  { return "signin-link-auth:" + id }

// linkResult is what a link's sign-in came to, as the store keeps it: the
// account, or why it failed. It holds no token.
type linkResult struct {
	Account *identity.Account `json:"account,omitempty"`
	Failure *linkFailure      `json:"failure,omitempty"`
}

// linkFailure is a failed sign-in in a form every replica reads back
// into the error it was, so that the screen shows what it means.
type linkFailure struct {
	WrongNumber bool   `json:"wrong_number,omitempty"`
	Kind        string `json:"kind,omitempty"` // identity.Kind, for an *identity.AuthError
	OAuth       string `json:"oauth,omitempty"`
	Codes       []int  `json:"codes,omitempty"`
	Description string `json:"description,omitempty"`
}

func encodeFailure(err error) []byte {
	f := linkFailure{Description: err.Error()}
	var ae *identity.AuthError
	switch {
	case errors.Is(err, errWrongNumber):
		f.WrongNumber = true
	case errors.As(err, &ae):
		f.Kind, f.OAuth, f.Codes, f.Description = ae.Kind.String(), ae.OAuth, ae.Codes, ae.Description
	}
	b, _ := json.Marshal(linkResult{Failure: &f})
	return b
}

func encodeAccount(a identity.Account) []byte {
	b, _ := json.Marshal(linkResult{Account: &a})
	return b
}

// decodeResult reads a link's result back: the account, or the error it
// failed with.
func decodeResult(b []byte) (identity.Account, error) {
	var r linkResult
	if err := json.Unmarshal(b, &r); err != nil {
		return identity.Account{}, fmt.Errorf("screens: reading a sign-in link's result: %w", err)
	}
	switch f := r.Failure; {
	case r.Account != nil:
		return *r.Account, nil
	case f == nil:
		return identity.Account{}, errors.New("screens: a sign-in link's result holds nothing")
	case f.WrongNumber:
		return identity.Account{}, errWrongNumber
	case f.Kind != "":
		return identity.Account{}, &identity.AuthError{Kind: identity.ParseKind(f.Kind), OAuth: f.OAuth, Codes: f.Codes, Description: f.Description}
	default:
		return identity.Account{}, errors.New(f.Description)
	}
}

// qrLink is the sign-in by QR code: the authorization-code path.
type qrLink struct{ m *Manager }

func (qrLink) path() string { return server.PathAuthCode }

func (q qrLink) start(ctx context.Context, s *session) (offer, error) {
	m := q.m
	token := newSecret()
	qr, err := encodeQR(m.cfg.PublicURL + LinkPath + token)
	if err != nil {
		return nil, err
	}
	qr.To = wire.QRAuthCode
	now := m.cfg.Now()
	id, match := hashKey(token), matchNumber()
	sealed, err := m.cfg.Box.Seal([]byte(match), matchLabel(id))
	if err != nil {
		return nil, fmt.Errorf("screens: sealing a sign-in link's number: %w", err)
	}
	s.mu.Lock()
	name := s.screen.Name
	s.mu.Unlock()
	row := server.SignInLink{ID: id, ScreenID: s.id, ScreenName: name, ExpiresAt: now.Add(m.cfg.LinkLifetime),
		Phase: server.LinkPhaseFresh, Match: sealed, UpdatedAt: now}
	m.pruneLinks(ctx, now)
	if err := m.cfg.Store.CreateSignInLink(ctx, row); err != nil {
		return nil, fmt.Errorf("screens: keeping a sign-in link: %w", err)
	}
	m.audit(ctx, server.AuditEvent{Kind: server.AuditCodeShown, ScreenID: s.id, ScreenName: name, Outcome: "ok",
		Detail: "sign-in link (" + server.PathAuthCode + "), expires " + row.ExpiresAt.UTC().Format(time.RFC3339)})
	return &linkOffer{m: m, s: s, id: id, qr: qr, match: match, expiry: row.ExpiresAt, row: row, changed: make(chan struct{}, 1)}, nil
}

// pruneLinks forgets, at most once a minute, the links nobody can use any
// more, some time after they could (so that a late replay still reads
// "used" or "expired").
func (m *Manager) pruneLinks(ctx context.Context, now time.Time) {
	m.links.mu.Lock()
	due := now.Sub(m.links.pruned) >= time.Minute
	if due {
		m.links.pruned = now
	}
	m.links.mu.Unlock()
	if !due {
		return
	}
	if _, err := m.cfg.Store.DeleteSignInLinks(ctx, now.Add(-authWindow)); err != nil {
		m.log.Warn("forgetting old sign-in links", "err", err)
	}
}

// matchNumber returns a random number of MatchDigits digits, without a
// leading zero.
func matchNumber() string {
	low := int64(1)
	for range MatchDigits - 1 {
		low *= 10
	}
	n, err := rand.Int(rand.Reader, big.NewInt(9*low))
	if err != nil {
		panic(fmt.Sprintf("screens: crypto/rand failed: %v", err))
	}
	return fmt.Sprint(low + n.Int64())
}

// linkOffer is a screen's sign-in link as the screen's session offers it:
// what the store says of it, read at each word of a change.
type linkOffer struct {
	m      *Manager
	s      *session
	id     string
	qr     wire.QR
	match  string
	expiry time.Time

	mu    sync.Mutex
	row   server.SignInLink // as last read
	shown bool              // the number is on the screen
	// changed is told when the link's phase changes (a number typed).
	changed chan struct{}
}

func (o *linkOffer) show(c *wire.Code) {
	c.QR = o.qr
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.row.Holder != nil {
		c.Match = o.match
		o.shown = true
	}
}

func (o *linkOffer) expires() time.Time { return o.expiry }

// wait reads the link at each word of a change, shows the number once a
// browser holds it, and returns when its sign-in came to something: the
// account (for take), or why it failed.
func (o *linkOffer) wait(ctx context.Context) (identity.Account, error) {
	m := o.m
	for {
		changed := m.links.watch(o.s.id)
		row, err := m.cfg.Store.SignInLink(ctx, o.id)
		switch {
		case ctx.Err() != nil:
			return identity.Account{}, ctx.Err()
		case err != nil:
			m.log.Warn("reading a sign-in link", "screen", o.s.id, "err", err)
		default:
			o.mu.Lock()
			moved := row.Phase != o.row.Phase
			o.row = row
			show := row.Holder != nil && !o.shown
			o.shown = o.shown || show
			o.mu.Unlock()
			if show {
				o.showNumber()
			}
			if moved {
				select {
				case o.changed <- struct{}{}:
				default:
				}
			}
			switch row.Phase {
			case server.LinkPhaseRedeemed, server.LinkPhaseFailed:
				return decodeResult(row.Result)
			}
		}
		t := time.NewTimer(linkPoll)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// showNumber shows the number on the screen, now that a browser holds the
// link (while the screen still offers it).
func (o *linkOffer) showNumber() {
	s := o.s
	s.mu.Lock()
	show := s.code != nil && s.phase == wire.PhaseCode && s.code.QR.Path == o.qr.Path && s.code.Match == ""
	if show {
		c := *s.code
		c.Match = o.match
		s.code = &c
	}
	s.mu.Unlock()
	if show {
		o.m.publish(s)
	}
}

func (o *linkOffer) busyUntil() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch r := o.row; r.Phase {
	case server.LinkPhaseFresh:
		if r.Holder != nil {
			return o.expiry.Add(pickWindow)
		}
	case server.LinkPhaseAuthorizing:
		return minTime(r.TypedAt.Add(o.m.cfg.TypedWait), r.AuthUntil)
	case server.LinkPhaseRedeeming, server.LinkPhaseRedeemed:
		return r.AuthUntil
	}
	return time.Time{}
}

func (o *linkOffer) changes() <-chan struct{} { return o.changed }

// replaceAt is when the screen offers a fresh link beside this one, whose
// number was typed: nobody else can use it, and the phone that typed it
// may have given up.
func (o *linkOffer) replaceAt() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.row.Phase != server.LinkPhaseAuthorizing {
		return time.Time{}
	}
	return minTime(o.row.TypedAt.Add(o.m.cfg.TypedWait), o.row.AuthUntil)
}

// inProgress reports whether a phone is still signing in with the link
// (it typed the number, and may come back until authUntil): a new round of
// offers keeps waiting for it beside a fresh link.
func (o *linkOffer) inProgress(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch o.row.Phase {
	case server.LinkPhaseAuthorizing, server.LinkPhaseRedeeming, server.LinkPhaseRedeemed:
		return now.Before(o.row.AuthUntil)
	}
	return false
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// take claims the sign-in for the screen, unless the phone's replica gave
// it up (the screen took too long), so that it is taken once.
func (o *linkOffer) take(ctx context.Context) bool {
	row, err := o.m.cfg.Store.UpdateSignInLink(context.WithoutCancel(ctx), o.id, func(l *server.SignInLink) error {
		if l.Phase != server.LinkPhaseRedeemed || l.Ended {
			return errNotTaken
		}
		l.Phase, l.UpdatedAt = server.LinkPhaseTaken, o.m.cfg.Now()
		return nil
	})
	if err != nil {
		if !errors.Is(err, errNotTaken) {
			o.m.log.Warn("taking a sign-in by QR code", "screen", o.s.id, "err", err)
		}
		return false
	}
	// The phone's choice goes with the sign-in (signedIn reads it).
	o.s.mu.Lock()
	o.s.scope, o.s.scopeCode = row.Scope, nil
	o.s.mu.Unlock()
	o.m.linkChanged(ctx, o.s.id)
	return true
}

// drop does nothing: the replica that redeemed the code forgets the tokens
// of a sign-in the screen did not take.
func (o *linkOffer) drop(context.Context, identity.Account) {}

func (o *linkOffer) recorded(err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, uerr := o.m.cfg.Store.UpdateSignInLink(ctx, o.id, func(l *server.SignInLink) error {
		if l.Phase != server.LinkPhaseTaken {
			return errNotTaken
		}
		l.Phase, l.UpdatedAt = server.LinkPhaseSignedIn, o.m.cfg.Now()
		if err != nil {
			l.Phase, l.Result = server.LinkPhaseFailed, encodeFailure(err)
		}
		return nil
	})
	if uerr != nil {
		o.m.log.Warn("recording how a sign-in by QR code ended", "screen", o.s.id, "err", uerr)
	}
	o.m.linkChanged(ctx, o.s.id)
}

// end withdraws the link: it works no more, and a sign-in that finishes
// after is not taken.
func (o *linkOffer) end() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := o.m.cfg.Store.UpdateSignInLink(ctx, o.id, func(l *server.SignInLink) error {
		if l.Ended {
			return errUnchanged
		}
		l.Ended, l.UpdatedAt = true, o.m.cfg.Now()
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		return
	case err != nil:
		o.m.log.Warn("withdrawing a sign-in link", "screen", o.s.id, "err", err)
	}
	o.m.linkChanged(ctx, o.s.id)
}

// LinkPage is what the phone that holds a link is shown.
type LinkPage struct {
	Screen       string
	Organisation string
	// Lang is the language the screen speaks.
	Lang string
}

// screenLang is the language a screen speaks now (its setting; English,
// the screens' own default, when it has none), "" when it cannot be read.
func (m *Manager) screenLang(ctx context.Context, screenID string) string {
	sc, err := m.cfg.Store.Screen(ctx, screenID)
	switch {
	case err != nil:
		return ""
	case sc.Settings.Lang == "":
		return "en"
	}
	return sc.Settings.Lang
}

// screenScopes are the permissions a screen asks for beyond the server's
// when it signs in: its board's (BoardScopes).
func (m *Manager) screenScopes(ctx context.Context, screenID string) []string {
	sc, err := m.cfg.Store.Screen(ctx, screenID)
	if err != nil {
		return nil
	}
	return m.boardScopes(sc.Settings)
}

// readLink returns the link of a token, or why it is not there.
func (m *Manager) readLink(ctx context.Context, token string) (server.SignInLink, error) {
	if token == "" || len(token) > 100 {
		return server.SignInLink{}, &LinkError{Outcome: LinkExpired}
	}
	row, err := m.cfg.Store.SignInLink(ctx, hashKey(token))
	if server.IsNotFound(err) {
		return row, &LinkError{Outcome: LinkExpired}
	}
	if err != nil {
		return row, &LinkError{Outcome: LinkFailed, err: fmt.Errorf("screens: reading a sign-in link: %w", err)}
	}
	return row, nil
}

// refusal says why a browser (by the hash of its hold secret) may not go
// on with a link, or nil. held is false when the browser need not hold
// it yet (opening it).
func (m *Manager) refusal(row server.SignInLink, holder []byte, held bool) *LinkError {
	e := &LinkError{Screen: row.ScreenName}
	mine := row.Holder != nil && subtle.ConstantTimeCompare(row.Holder, holder) == 1
	switch {
	case row.Phase != server.LinkPhaseFresh:
		e.Outcome = LinkUsed
	case row.Ended || m.cfg.Now().After(row.ExpiresAt):
		e.Outcome = LinkExpired
	case row.Holder != nil && !mine, held && !mine:
		e.Outcome = LinkOpenedElsewhere
	default:
		return nil
	}
	return e
}

// withLang fills in the screen's language of a link's error.
func (m *Manager) withLang(ctx context.Context, row server.SignInLink, err error) error {
	var le *LinkError
	if errors.As(err, &le) && row.ScreenID != "" && le.Lang == "" {
		le.Lang = m.screenLang(ctx, row.ScreenID)
	}
	return err
}

// OpenLink returns what the phone that opened a link is shown. hold is the
// secret of the browser's cookie: the first browser to open the link
// holds it, and from then on the screen shows the number; any other is
// refused (LinkOpenedElsewhere).
func (m *Manager) OpenLink(ctx context.Context, token, hold string) (LinkPage, error) {
	row, err := m.readLink(ctx, token)
	if err != nil {
		return LinkPage{}, err
	}
	holder := hashSecret(hold)
	if hold == "" {
		holder = nil
	}
	if e := m.refusal(row, holder, false); e != nil || holder == nil {
		if e == nil {
			e = &LinkError{Outcome: LinkOpenedElsewhere, Screen: row.ScreenName}
		}
		return LinkPage{}, m.withLang(ctx, row, e)
	}
	if row.Holder == nil {
		row, err = m.cfg.Store.UpdateSignInLink(ctx, row.ID, func(l *server.SignInLink) error {
			if e := m.refusal(*l, holder, false); e != nil {
				return e
			}
			l.Holder, l.UpdatedAt = holder, m.cfg.Now()
			return nil
		})
		if err != nil {
			var le *LinkError
			if !errors.As(err, &le) {
				err = &LinkError{Outcome: LinkFailed, Screen: row.ScreenName, err: fmt.Errorf("screens: holding a sign-in link: %w", err)}
			}
			return LinkPage{}, m.withLang(ctx, row, err)
		}
		m.linkChanged(ctx, row.ScreenID) // the screen shows its number
	}
	return LinkPage{Screen: row.ScreenName, Organisation: m.cfg.Organisation, Lang: m.screenLang(ctx, row.ScreenID)}, nil
}

// TypeNumber takes the number typed on the page of a link that the
// browser holds (hold is its cookie's secret), and the phone's choice of
// scope (ScopeScreen or "", or ScopeGroup where the screen's group shares
// its sign-ins). A wrong number ends the link (and the screen shows a new
// one); the right one starts the sign-in at the identity platform: it
// returns where to send the phone's browser, and the secret its cookie
// must hold when it comes back (the state is bound to that browser).
// Either way the link cannot be used again.
func (m *Manager) TypeNumber(ctx context.Context, token, hold, number, scope string) (authURL, binding string, err error) {
	switch scope {
	case "", ScopeScreen:
		scope = ""
	case ScopeGroup:
		if _, ok := m.LinkGroup(ctx, token); !ok {
			return "", "", server.Errorf(server.EINVALID, "this screen's group does not share its sign-ins")
		}
	default:
		return "", "", server.Errorf(server.EINVALID, "scope %q must be %s or %s", scope, ScopeScreen, ScopeGroup)
	}
	row, err := m.readLink(ctx, token)
	if err != nil {
		return "", "", err
	}
	defer func() { err = m.withLang(ctx, row, err) }()
	holder := hashSecret(hold)
	if e := m.refusal(row, holder, true); e != nil || hold == "" {
		if e == nil {
			e = &LinkError{Outcome: LinkOpenedElsewhere, Screen: row.ScreenName}
		}
		return "", "", e
	}
	match, err := m.cfg.Box.Open(row.Match, matchLabel(row.ID))
	if err != nil {
		return "", "", &LinkError{Outcome: LinkFailed, Screen: row.ScreenName, err: fmt.Errorf("screens: opening a sign-in link's number: %w", err)}
	}
	now := m.cfg.Now()
	right := subtle.ConstantTimeCompare([]byte(number), match) == 1
	step := func(l *server.SignInLink) error {
		if e := m.refusal(*l, holder, true); e != nil {
			return e
		}
		l.UpdatedAt = now
		if !right {
			l.Phase, l.Result = server.LinkPhaseFailed, encodeFailure(errWrongNumber)
			return nil
		}
		l.Phase, l.TypedAt, l.AuthUntil, l.Scope = server.LinkPhaseAuthorizing, now, now.Add(authWindow), scope
		return nil
	}
	if row, err = m.cfg.Store.UpdateSignInLink(ctx, row.ID, step); err != nil {
		return "", "", linkStepError(row, err, "typing a sign-in link's number")
	}
	m.linkChanged(ctx, row.ScreenID)
	if !right {
		return "", "", &LinkError{Outcome: LinkWrongNumber, Screen: row.ScreenName}
	}

	a, err := m.cfg.Identity.StartAuthCode(ctx, m.cfg.PublicURL+CallbackPath, m.screenScopes(ctx, row.ScreenID)...)
	if err != nil {
		m.failLink(ctx, row, server.LinkPhaseAuthorizing, err)
		return "", "", &LinkError{Outcome: LinkFailed, Screen: row.ScreenName, err: err}
	}
	pending, _ := json.Marshal(a.Pending())
	sealed, err := m.cfg.Box.Seal(pending, authLabel(row.ID))
	if err != nil {
		m.failLink(ctx, row, server.LinkPhaseAuthorizing, err)
		return "", "", &LinkError{Outcome: LinkFailed, Screen: row.ScreenName, err: fmt.Errorf("screens: sealing a sign-in: %w", err)}
	}
	binding = newSecret()
	if _, err = m.cfg.Store.UpdateSignInLink(ctx, row.ID, func(l *server.SignInLink) error {
		if l.Phase != server.LinkPhaseAuthorizing || l.Ended {
			return &LinkError{Outcome: LinkExpired, Screen: l.ScreenName}
		}
		l.State, l.Binding, l.Auth = hashKey(a.State()), hashSecret(binding), sealed
		return nil
	}); err != nil {
		return "", "", linkStepError(row, err, "starting a sign-in by QR code")
	}
	return a.URL(), binding, nil
}

// linkStepError is the error of a step of a link that the store refused:
// the refusal as it is, else a failure naming what was done.
func linkStepError(row server.SignInLink, err error, doing string) error {
	var le *LinkError
	if errors.As(err, &le) {
		return le
	}
	return &LinkError{Outcome: LinkFailed, Screen: row.ScreenName, err: fmt.Errorf("screens: %s: %w", doing, err)}
}

// failLink ends a link's sign-in in phase from with a failure, which the
// screen then shows.
func (m *Manager) failLink(ctx context.Context, row server.SignInLink, from string, cause error) {
	ctx = context.WithoutCancel(ctx)
	_, err := m.cfg.Store.UpdateSignInLink(ctx, row.ID, func(l *server.SignInLink) error {
		if l.Phase != from {
			return errUnchanged
		}
		l.Phase, l.Result, l.UpdatedAt = server.LinkPhaseFailed, encodeFailure(cause), m.cfg.Now()
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		m.log.Warn("recording a failed sign-in by QR code", "screen", row.ScreenID, "err", err)
	}
	m.linkChanged(ctx, row.ScreenID)
}

// Callback is what came back to CallbackPath: the state and, from the
// phone's cookie, the binding; then either the authorization code or the
// error of the authorization response.
type Callback struct {
	State, Binding   string
	Code             string
	Error, ErrorText string
}

// LinkDone is the sign-in a callback finished: the screen it shows on,
// and the language the screen speaks.
type LinkDone struct {
	Screen string
	Lang   string
}

// Live reports whether a callback's state and binding are those of a
// sign-in in progress: such a callback is never refused for what other
// requests from its address did.
func (m *Manager) Live(ctx context.Context, cb Callback) bool {
	row, err := m.callbackLink(ctx, cb)
	return err == nil && row.Phase == server.LinkPhaseAuthorizing && !row.Ended && !m.cfg.Now().After(row.AuthUntil)
}

// callbackLink returns the link of a callback whose state and binding
// match it, or LinkInvalidState.
func (m *Manager) callbackLink(ctx context.Context, cb Callback) (server.SignInLink, error) {
	invalid := &LinkError{Outcome: LinkInvalidState}
	if cb.State == "" || len(cb.State) > 200 || cb.Binding == "" || len(cb.Binding) > 100 {
		return server.SignInLink{}, invalid
	}
	row, err := m.cfg.Store.SignInLinkByState(ctx, hashKey(cb.State))
	switch {
	case server.IsNotFound(err):
		return row, invalid
	case err != nil:
		return row, &LinkError{Outcome: LinkFailed, err: fmt.Errorf("screens: reading a sign-in link: %w", err)}
	case subtle.ConstantTimeCompare(hashSecret(cb.Binding), row.Binding) != 1:
		return row, invalid
	}
	return row, nil
}

// FinishLink completes the sign-in a callback answers: it checks the state
// against the link's and the phone's cookie, redeems the code (once, on
// whichever replica the callback reached), and waits until the screen
// shows the account. A callback with a wrong or missing state or cookie
// changes nothing; any other ends the sign-in, which cannot be finished
// twice. Tokens of a sign-in the screen did not take (it moved on, or its
// replica did not answer) are forgotten.
func (m *Manager) FinishLink(ctx context.Context, cb Callback) (done LinkDone, err error) {
	row, err := m.callbackLink(ctx, cb)
	if err != nil {
		return done, err
	}
	done = LinkDone{Screen: row.ScreenName, Lang: m.screenLang(ctx, row.ScreenID)}
	defer func() {
		var le *LinkError
		if errors.As(err, &le) {
			le.Screen, le.Lang = done.Screen, done.Lang
		}
	}()
	// Taken once: a replayed callback, on any replica, reads "used".
	row, err = m.cfg.Store.UpdateSignInLink(ctx, row.ID, func(l *server.SignInLink) error {
		switch {
		case l.Phase != server.LinkPhaseAuthorizing:
			return &LinkError{Outcome: LinkUsed}
		case l.Ended || m.cfg.Now().After(l.AuthUntil):
			l.Phase, l.Result, l.UpdatedAt = server.LinkPhaseFailed, encodeFailure(errCameBackLate), m.cfg.Now()
			return nil
		}
		l.Phase, l.UpdatedAt = server.LinkPhaseRedeeming, m.cfg.Now()
		return nil
	})
	if err != nil {
		return done, linkStepError(row, err, "finishing a sign-in by QR code")
	}
	if row.Phase == server.LinkPhaseFailed {
		return done, &LinkError{Outcome: LinkExpired}
	}

	acct, err := m.redeem(ctx, row, cb)
	if err != nil {
		m.failLink(ctx, row, server.LinkPhaseRedeeming, err)
		outcome := LinkFailed
		if identity.KindOf(err) == identity.KindDeclined {
			outcome = LinkDeclined
		}
		return done, &LinkError{Outcome: outcome, err: err}
	}
	// The tokens are saved: from here on, a sign-in the screen does not
	// take is forgotten.
	row, err = m.cfg.Store.UpdateSignInLink(context.WithoutCancel(ctx), row.ID, func(l *server.SignInLink) error {
		l.UpdatedAt = m.cfg.Now()
		if l.Ended {
			l.Phase = server.LinkPhaseAbandoned
			return nil
		}
		l.Phase, l.Result = server.LinkPhaseRedeemed, encodeAccount(acct)
		return nil
	})
	if err != nil {
		m.forgetUntaken(ctx, row, acct)
		return done, &LinkError{Outcome: LinkFailed, err: fmt.Errorf("screens: handing a sign-in to its screen: %w", err)}
	}
	if row.Phase == server.LinkPhaseAbandoned {
		m.forgetUntaken(ctx, row, acct)
		return done, &LinkError{Outcome: LinkExpired}
	}
	m.linkChanged(ctx, row.ScreenID)
	return done, m.awaitTaken(ctx, row, acct)
}

// redeem redeems a callback's code with what its link sealed, or returns
// the error the authorization response carried.
func (m *Manager) redeem(ctx context.Context, row server.SignInLink, cb Callback) (identity.Account, error) {
	if cb.Error != "" {
		return identity.Account{}, identity.AuthorizeError(cb.Error, cb.ErrorText)
	}
	plain, err := m.cfg.Box.Open(row.Auth, authLabel(row.ID))
	if err != nil {
		return identity.Account{}, fmt.Errorf("screens: opening a sign-in by QR code: %w", err)
	}
	var p identity.Pending
	if err := json.Unmarshal(plain, &p); err != nil {
		return identity.Account{}, fmt.Errorf("screens: reading a sign-in by QR code: %w", err)
	}
	a, err := m.cfg.Identity.ResumeAuthCode(p)
	if err != nil {
		return identity.Account{}, err
	}
	return a.Redeem(ctx, cb.Code)
}

// awaitTaken waits until the screen's replica took the sign-in and
// recorded it. A sign-in it has not taken when the screen moves on, or by
// the time the phone's request gives up, is given up and its tokens
// forgotten.
func (m *Manager) awaitTaken(ctx context.Context, row server.SignInLink, acct identity.Account) error {
	for {
		changed := m.links.watch(row.ScreenID)
		cur, err := m.cfg.Store.SignInLink(context.WithoutCancel(ctx), row.ID)
		if err != nil {
			m.log.Warn("reading a sign-in link", "screen", row.ScreenID, "err", err)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return &LinkError{Outcome: LinkFailed, err: fmt.Errorf("screens: reading a sign-in link: %w", err)}
		case err != nil:
		case cur.Phase == server.LinkPhaseSignedIn:
			return nil
		case cur.Phase == server.LinkPhaseFailed:
			_, cause := decodeResult(cur.Result)
			return &LinkError{Outcome: LinkFailed, err: cause}
		case cur.Phase == server.LinkPhaseRedeemed && (cur.Ended || ctx.Err() != nil):
			if m.abandon(ctx, row, acct) {
				if ctx.Err() != nil {
					return &LinkError{Outcome: LinkFailed, err: fmt.Errorf("screens: the screen did not take the sign-in in time: %w", ctx.Err())}
				}
				return &LinkError{Outcome: LinkExpired}
			}
			continue // taken meanwhile
		case ctx.Err() != nil:
			// Taken: the screen records it, whatever becomes of this
			// request.
			return &LinkError{Outcome: LinkFailed, err: ctx.Err()}
		}
		t := time.NewTimer(linkPoll)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// abandon gives up a sign-in that its screen has not taken, and forgets
// its tokens; false when the screen took it meanwhile.
func (m *Manager) abandon(ctx context.Context, row server.SignInLink, acct identity.Account) bool {
	_, err := m.cfg.Store.UpdateSignInLink(context.WithoutCancel(ctx), row.ID, func(l *server.SignInLink) error {
		if l.Phase != server.LinkPhaseRedeemed {
			return errNotTaken
		}
		l.Phase, l.UpdatedAt = server.LinkPhaseAbandoned, m.cfg.Now()
		return nil
	})
	if errors.Is(err, errNotTaken) {
		return false
	}
	if err != nil {
		m.log.Warn("giving up a sign-in by QR code", "screen", row.ScreenID, "err", err)
	}
	m.forgetUntaken(ctx, row, acct)
	m.linkChanged(ctx, row.ScreenID)
	return true
}

// forgetUntaken forgets the tokens of a sign-in no screen took, unless a
// screen shows its account (signed in there by other means): a sealed
// refresh token must not stay in the store for an account nothing names.
func (m *Manager) forgetUntaken(ctx context.Context, row server.SignInLink, acct identity.Account) {
	ctx = context.WithoutCancel(ctx)
	m.audit(ctx, server.AuditEvent{Kind: server.AuditSignIn, ScreenID: row.ScreenID, ScreenName: row.ScreenName, Account: acct.Username,
		Outcome: "not_taken", Detail: server.PathAuthCode + ": the screen had moved on; the sign-in's tokens are forgotten"})
	if err := m.forgetIfUnused(ctx, acct.ID); err != nil {
		m.log.Error("forgetting the tokens of a sign-in no screen took", "account", acct.Username, "err", err)
	}
}

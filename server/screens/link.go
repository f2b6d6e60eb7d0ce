package screens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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
// code. The phone that opens it must first pick, among three numbers, the
// one the screen shows (number matching: a link forwarded to someone who
// cannot see the screen is useless); only then is it sent to Microsoft's
// interactive sign-in (authorization code with PKCE), whose redirect comes
// back to CallbackPath with the state bound to that phone's browser.
const (
	LinkPath     = "/signin/"
	CallbackPath = "/signin/callback"
)

// authWindow is how long a phone that picked the right number has to
// finish signing in at Microsoft (multi-factor authentication included):
// the identity platform's authorization codes live 10 minutes.
const authWindow = 10 * time.Minute

// pickWindow keeps a link that a phone opened from being replaced under
// the person about to pick the number.
const pickWindow = 2 * time.Minute

// DefaultLinkLifetime is how long a QR code's link works when no device
// code sets the pace: the device code's own lifetime (expires_in 900).
const DefaultLinkLifetime = 15 * time.Minute

// Outcomes of a link or callback, as the phone's result page names them
// (its signin-result data-outcome).
const (
	LinkSignedIn     = "signed_in"
	LinkDeclined     = "declined"
	LinkExpired      = "expired"
	LinkUsed         = "used"
	LinkWrongNumber  = "wrong_number"
	LinkInvalidState = "invalid_state"
	LinkFailed       = "error"
)

// LinkError is a sign-in link or callback that was refused, or a sign-in
// that failed: Outcome says which, in the words of the phone's page.
type LinkError struct {
	Outcome string
	// Screen is the screen's name, when the link named one.
	Screen string
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

// errWrongNumber ends a link whose phone picked another number than the
// screen's.
var errWrongNumber = errors.New("a phone picked another number than the one the screen showed")

type linkPhase int

const (
	linkFresh       linkPhase = iota // shown; nobody picked a number
	linkAuthorizing                  // the right number: the phone is at Microsoft
	linkSpent                        // a number was wrong, or the callback came
)

// link is one QR code's link and the sign-in it leads to. Its fields are
// guarded by links.mu.
type link struct {
	s       *session
	screen  string // the screen's name when the link was made
	numbers [3]string
	match   string
	expires time.Time
	opened  bool
	phase   linkPhase
	ended   bool
	// Set when the right number is picked.
	auth      *identity.AuthCode
	stateKey  string // hashKey of the state
	binding   []byte // SHA-256 of the secret of the phone's cookie
	authUntil time.Time
	// scope is the phone's choice: ScopeGroup, or "" for this screen.
	scope string

	// result hands the sign-in's account (or failure) to the offer;
	// recorded hands back whether the screen recorded it; gone is closed
	// when the offer is withdrawn.
	result   chan linkResult
	recorded chan error
	gone     chan struct{}
}

type linkResult struct {
	acct identity.Account
	err  error
}

// links are the sign-in links the manager knows, by hashKey of their token
// and of their state. Its lock guards them and their links' fields, and is
// taken alone: never with a session's.
type links struct {
	mu      sync.Mutex
	byToken map[string]*link
	byState map[string]*link
	// scopes are the device codes' pages of the choice of a group's
	// sign-in, by hashKey of their token (group.go).
	scopes map[string]*scopePage
}

func newLinks() *links {
	return &links{byToken: map[string]*link{}, byState: map[string]*link{}, scopes: map[string]*scopePage{}}
}

// pruneLocked forgets links that nobody can use any more, some time after
// they did (so that a late replay still reads "used" or "expired").
func (ls *links) pruneLocked(now time.Time) {
	for k, l := range ls.byToken {
		if now.After(l.expires.Add(authWindow)) && now.After(l.authUntil.Add(authWindow)) {
			delete(ls.byToken, k)
			if l.stateKey != "" {
				delete(ls.byState, l.stateKey)
			}
		}
	}
}

// hashKey keys secrets in maps by their hash, so that a map lookup's timing
// says nothing about a secret.
func hashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
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
	l := &link{s: s, expires: now.Add(m.cfg.LinkLifetime),
		result: make(chan linkResult, 1), recorded: make(chan error, 1), gone: make(chan struct{})}
	l.numbers, l.match = matchNumbers()
	s.mu.Lock()
	l.screen = s.screen.Name
	s.mu.Unlock()
	m.links.mu.Lock()
	m.links.pruneLocked(now)
	m.links.byToken[hashKey(token)] = l
	m.links.mu.Unlock()
	m.audit(ctx, server.AuditEvent{Kind: server.AuditCodeShown, ScreenID: s.id, ScreenName: l.screen, Outcome: "ok",
		Detail: "sign-in link (" + server.PathAuthCode + "), expires " + l.expires.UTC().Format(time.RFC3339)})
	return &linkOffer{m: m, l: l, qr: qr}, nil
}

// matchNumbers returns three different two-digit numbers and the one of
// them the screen shows.
func matchNumbers() (numbers [3]string, match string) {
	seen := map[int64]bool{}
	for i := 0; i < len(numbers); {
		n, _ := rand.Int(rand.Reader, big.NewInt(90))
		if seen[n.Int64()] {
			continue
		}
		seen[n.Int64()] = true
		numbers[i] = fmt.Sprint(10 + n.Int64())
		i++
	}
	k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(numbers))))
	return numbers, numbers[k.Int64()]
}

type linkOffer struct {
	m  *Manager
	l  *link
	qr wire.QR
}

func (o *linkOffer) show(c *wire.Code) {
	c.QR = o.qr
	if o.l.opened {
		c.Match = o.l.match
	}
}

func (o *linkOffer) expires() time.Time { return o.l.expires }

func (o *linkOffer) wait(ctx context.Context) (identity.Account, error) {
	select {
	case r := <-o.l.result:
		return r.acct, r.err
	case <-ctx.Done():
		return identity.Account{}, ctx.Err()
	}
}

func (o *linkOffer) busyUntil() time.Time {
	o.m.links.mu.Lock()
	defer o.m.links.mu.Unlock()
	switch l := o.l; {
	case l.phase == linkAuthorizing:
		return l.authUntil
	case l.phase == linkFresh && l.opened:
		return l.expires.Add(pickWindow)
	}
	return time.Time{}
}

func (o *linkOffer) recorded(err error) { o.l.recorded <- err }

func (o *linkOffer) end() {
	o.m.links.mu.Lock()
	defer o.m.links.mu.Unlock()
	if !o.l.ended {
		o.l.ended = true
		close(o.l.gone)
	}
}

// LinkPage is what the phone that opened a link is shown.
type LinkPage struct {
	Screen       string
	Organisation string
	// Numbers are the three numbers to pick from, one of them the
	// screen's.
	Numbers [3]string
}

// lookupLocked returns the live link of a token, or why it is not. The
// links' lock is held.
func (m *Manager) lookupLocked(token string) (*link, error) {
	l := m.links.byToken[hashKey(token)]
	switch {
	case l == nil || token == "" || len(token) > 100:
		return nil, &LinkError{Outcome: LinkExpired}
	case l.phase != linkFresh:
		return nil, &LinkError{Outcome: LinkUsed, Screen: l.screen}
	case l.ended || m.cfg.Now().After(l.expires):
		return nil, &LinkError{Outcome: LinkExpired, Screen: l.screen}
	}
	return l, nil
}

// OpenLink returns what the phone that opened a link is shown: the
// screen's name and three numbers. From then on the screen shows the
// number to pick.
func (m *Manager) OpenLink(token string) (LinkPage, error) {
	m.links.mu.Lock()
	l, err := m.lookupLocked(token)
	if err != nil {
		m.links.mu.Unlock()
		return LinkPage{}, err
	}
	first := !l.opened
	l.opened = true
	page := LinkPage{Screen: l.screen, Organisation: m.cfg.Organisation, Numbers: l.numbers}
	m.links.mu.Unlock()
	if first {
		s := l.s
		s.mu.Lock()
		show := s.code != nil && s.phase == wire.PhaseCode
		if show {
			c := *s.code
			c.Match = l.match
			s.code = &c
		}
		s.mu.Unlock()
		if show {
			m.publish(s)
		}
	}
	return page, nil
}

// PickNumber takes the number a phone picked. The wrong one ends the link
// (and the screen shows a new one); the right one starts the sign-in at
// the identity platform: it returns where to send the phone's browser, and
// the secret its cookie must hold when it comes back (the state is bound
// to that browser). Either way the link cannot be used again.
func (m *Manager) PickNumber(ctx context.Context, token, number string) (authURL, binding string, err error) {
	m.links.mu.Lock()
	l, err := m.lookupLocked(token)
	if err != nil {
		m.links.mu.Unlock()
		return "", "", err
	}
	if subtle.ConstantTimeCompare([]byte(number), []byte(l.match)) != 1 {
		l.phase = linkSpent
		m.links.mu.Unlock()
		l.result <- linkResult{err: errWrongNumber}
		return "", "", &LinkError{Outcome: LinkWrongNumber, Screen: l.screen}
	}
	l.phase = linkAuthorizing
	l.authUntil = m.cfg.Now().Add(authWindow)
	m.links.mu.Unlock()

	a, err := m.cfg.Identity.StartAuthCode(ctx, m.cfg.PublicURL+CallbackPath)
	if err != nil {
		m.links.mu.Lock()
		l.phase = linkSpent
		m.links.mu.Unlock()
		l.result <- linkResult{err: err}
		return "", "", &LinkError{Outcome: LinkFailed, Screen: l.screen, err: err}
	}
	binding = newSecret()
	h := sha256.Sum256([]byte(binding))
	m.links.mu.Lock()
	defer m.links.mu.Unlock()
	if l.ended {
		l.phase = linkSpent
		return "", "", &LinkError{Outcome: LinkExpired, Screen: l.screen}
	}
	l.auth, l.binding, l.stateKey = a, h[:], hashKey(a.State())
	m.links.byState[l.stateKey] = l
	return a.URL(), binding, nil
}

// Callback is what came back to CallbackPath: the state and, from the
// phone's cookie, the binding; then either the authorization code or the
// error of the authorization response.
type Callback struct {
	State, Binding   string
	Code             string
	Error, ErrorText string
}

// FinishLink completes the sign-in a callback answers: it checks the state
// against the link's and the phone's cookie, redeems the code (once), and
// waits until the screen shows the account. It returns the screen's name.
// A callback with a wrong or missing state or cookie changes nothing; any
// other ends the sign-in, which cannot be finished twice.
func (m *Manager) FinishLink(ctx context.Context, cb Callback) (string, error) {
	m.links.mu.Lock()
	var l *link
	if cb.State != "" && len(cb.State) <= 200 {
		l = m.links.byState[hashKey(cb.State)]
	}
	h := sha256.Sum256([]byte(cb.Binding))
	switch {
	case l == nil || cb.Binding == "" || subtle.ConstantTimeCompare(h[:], l.binding) != 1:
		m.links.mu.Unlock()
		return "", &LinkError{Outcome: LinkInvalidState}
	case l.phase != linkAuthorizing:
		m.links.mu.Unlock()
		return l.screen, &LinkError{Outcome: LinkUsed, Screen: l.screen}
	case l.ended || m.cfg.Now().After(l.authUntil):
		l.phase = linkSpent
		m.links.mu.Unlock()
		return l.screen, &LinkError{Outcome: LinkExpired, Screen: l.screen}
	}
	l.phase = linkSpent
	m.links.mu.Unlock()

	var acct identity.Account
	var err error
	if cb.Error != "" {
		err = identity.AuthorizeError(cb.Error, cb.ErrorText)
	} else {
		acct, err = l.auth.Redeem(ctx, cb.Code)
	}
	if err != nil {
		l.result <- linkResult{err: err}
		outcome := LinkFailed
		if identity.KindOf(err) == identity.KindDeclined {
			outcome = LinkDeclined
		}
		return l.screen, &LinkError{Outcome: outcome, Screen: l.screen, err: err}
	}
	l.s.mu.Lock()
	l.s.scope, l.s.scopeCode = l.scope, nil
	l.s.mu.Unlock()
	l.result <- linkResult{acct: acct}
	select {
	case err = <-l.recorded:
	case <-l.gone:
		// The screen went away (or moved on) before it took the sign-in.
		select {
		case err = <-l.recorded:
		default:
			return l.screen, &LinkError{Outcome: LinkExpired, Screen: l.screen}
		}
	case <-ctx.Done():
		return l.screen, &LinkError{Outcome: LinkFailed, Screen: l.screen, err: ctx.Err()}
	}
	if err != nil {
		return l.screen, &LinkError{Outcome: LinkFailed, Screen: l.screen, err: err}
	}
	return l.screen, nil
}

package screens

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/placard/placard/server"
)

// One sign-in for a group: on the phone's sign-in page of a screen whose
// group allows it (server.Group.SharedSignIn), the person chooses "this
// screen" (the default) or all the screens of the group. Only that choice,
// made on the phone, signs the others in: the account is then recorded on
// every enrolled screen of the group and shown at once, here and on the
// other replicas. Signing the group out on the admin page ends it on all
// of them (admin.Service.SignOutGroup).
//
// On the authorization-code path the choice is part of the link's page,
// bound to the browser that picks the number. On the device-code path the
// phone would go straight to Microsoft's page, where no choice can be
// made: for a screen of such a group, its QR code leads first to a page
// of the edge server (ScopePath) that shows the code, takes the choice
// and sends the phone on to the verification address. A code typed at
// Microsoft without passing through it signs in this screen only.

// Scopes of a sign-in, as the phone's page names them (signin-scope).
const (
	ScopeScreen = "screen"
	ScopeGroup  = "group"
)

// ScopePath is the device-code path's page of the choice, with a token.
const ScopePath = "/signin/scope/"

// errTaken ends a screen's sign-in because another screen of its group
// signed it in.
var errTaken = errors.New("screens: signed in with the screen's group")

// GroupChoice is what the phone's page offers a screen of a group that
// shares its sign-ins: the group's name and how many screens it has.
type GroupChoice struct {
	Group   string
	Screens int
}

// sharedGroup returns the group of a screen when it shares sign-ins, and
// how many enrolled screens it has; ok is false otherwise.
func (m *Manager) sharedGroup(ctx context.Context, groupID string) (g server.Group, n int, ok bool) {
	if groupID == "" {
		return g, 0, false
	}
	g, err := m.cfg.Store.Group(ctx, groupID)
	if err != nil || !g.SharedSignIn {
		if err != nil && !server.IsNotFound(err) {
			m.log.Warn("reading a screen's group", "group", groupID, "err", err)
		}
		return g, 0, false
	}
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		m.log.Warn("reading a group's screens", "group", groupID, "err", err)
		return g, 0, false
	}
	for _, sc := range all {
		if sc.Group == groupID && sc.Enrolled {
			n++
		}
	}
	return g, n, n > 1
}

// LinkGroup returns what the phone's page of a QR code's link offers: the
// choice of the screen's group, when it shares sign-ins. The choice is
// made with the number (TypeNumber).
func (m *Manager) LinkGroup(ctx context.Context, token string) (GroupChoice, bool) {
	row, err := m.readLink(ctx, token)
	if err != nil {
		return GroupChoice{}, false
	}
	sc, err := m.cfg.Store.Screen(ctx, row.ScreenID)
	if err != nil {
		return GroupChoice{}, false
	}
	g, n, ok := m.sharedGroup(ctx, sc.Group)
	return GroupChoice{Group: g.Name, Screens: n}, ok
}

// scopePage is a device code's page of the choice, for a screen of a
// group that shares sign-ins.
type scopePage struct {
	s       *session
	screen  string
	code    string
	onward  string // where the phone goes on: the verification address
	expires time.Time
}

// scopeQR returns what a device code's QR code carries on the session's
// screen: its page of the choice when its group shares sign-ins (and the
// edge server has an address phones reach), the verification address
// otherwise.
func (m *Manager) scopeQR(ctx context.Context, s *session, uri, userCode string, expires time.Time) string {
	onward := m.cfg.QRContent(uri, userCode)
	s.mu.Lock()
	groupID, name := s.screen.Group, s.screen.Name
	s.mu.Unlock()
	if m.cfg.PublicURL == "" {
		return onward
	}
	if _, _, ok := m.sharedGroup(ctx, groupID); !ok {
		return onward
	}
	token := newSecret()
	m.links.mu.Lock()
	now := m.cfg.Now()
	for k, p := range m.links.scopes {
		if now.After(p.expires) {
			delete(m.links.scopes, k)
		}
	}
	m.links.scopes[hashKey(token)] = &scopePage{s: s, screen: name, code: userCode, onward: onward, expires: expires}
	m.links.mu.Unlock()
	return m.cfg.PublicURL + ScopePath + token
}

// ScopeOffer is what a device code's page of the choice shows.
type ScopeOffer struct {
	Screen, UserCode string
	// Lang is the language the screen speaks.
	Lang   string
	Choice GroupChoice
	// Onward is where the phone goes once it chose: the verification
	// address.
	Onward string
}

// OpenScope returns what a device code's page of the choice shows.
func (m *Manager) OpenScope(ctx context.Context, token string) (ScopeOffer, error) {
	m.links.mu.Lock()
	p := m.links.scopes[hashKey(token)]
	m.links.mu.Unlock()
	if p == nil || token == "" || len(token) > 100 || m.cfg.Now().After(p.expires) {
		return ScopeOffer{}, &LinkError{Outcome: LinkExpired}
	}
	p.s.mu.Lock()
	groupID, code, lang := p.s.screen.Group, p.s.code, p.s.screen.Settings.Lang
	p.s.mu.Unlock()
	if code == nil || subtle.ConstantTimeCompare([]byte(code.UserCode), []byte(p.code)) != 1 {
		// The screen shows another code now.
		return ScopeOffer{}, &LinkError{Outcome: LinkExpired, Screen: p.screen}
	}
	out := ScopeOffer{Screen: p.screen, UserCode: p.code, Onward: p.onward, Lang: lang}
	if g, n, ok := m.sharedGroup(ctx, groupID); ok {
		out.Choice = GroupChoice{Group: g.Name, Screens: n}
	}
	return out, nil
}

// ChooseDeviceScope records the phone's choice for the screen's current
// device code and returns where the phone goes on.
func (m *Manager) ChooseDeviceScope(ctx context.Context, token, scope string) (string, error) {
	offer, err := m.OpenScope(ctx, token)
	if err != nil {
		return "", err
	}
	switch scope {
	case "", ScopeScreen:
		scope = ""
	case ScopeGroup:
		if offer.Choice.Screens < 2 {
			return "", server.Errorf(server.EINVALID, "this screen's group does not share its sign-ins")
		}
	default:
		return "", server.Errorf(server.EINVALID, "scope %q must be %s or %s", scope, ScopeScreen, ScopeGroup)
	}
	m.links.mu.Lock()
	p := m.links.scopes[hashKey(token)]
	m.links.mu.Unlock()
	if p == nil {
		return "", &LinkError{Outcome: LinkExpired}
	}
	h := sha256.Sum256([]byte(p.code))
	p.s.mu.Lock()
	p.s.scope, p.s.scopeCode = scope, h[:]
	p.s.mu.Unlock()
	return offer.Onward, nil
}

// takeScopeLocked returns (and forgets) the choice made on the phone for
// the sign-in that just finished on path: on the device-code path, only
// one made for the code the screen shows.
func takeScopeLocked(s *session, path string) string {
	scope := s.scope
	if path == server.PathDeviceCode && s.code != nil {
		h := sha256.Sum256([]byte(s.code.UserCode))
		if subtle.ConstantTimeCompare(h[:], s.scopeCode) != 1 {
			scope = "" // chosen for an earlier code
		}
	}
	s.scope, s.scopeCode = "", nil
	return scope
}

// signInGroup records an account signed in on one screen (from) on every
// other enrolled screen of its group, and shows it there at once, here
// and on the other replicas.
func (m *Manager) signInGroup(ctx context.Context, from server.Screen, acct server.Account, path string) {
	g, _, ok := m.sharedGroup(ctx, from.Group)
	if !ok {
		return
	}
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		m.log.Warn("signing a group in", "group", g.ID, "err", err)
		return
	}
	n := 0
	for _, sc := range all {
		if sc.ID == from.ID || sc.Group != g.ID || !sc.Enrolled {
			continue
		}
		sc, err := m.cfg.Store.UpdateScreen(ctx, sc.ID, func(sc *server.Screen) error {
			if sc.Group != g.ID || !sc.Enrolled {
				return errUnchanged
			}
			sc.AccountID = acct.ID
			return nil
		})
		if err == errUnchanged || server.IsNotFound(err) {
			continue
		}
		if err != nil {
			m.log.Warn("signing a screen of a group in", "screen", sc.ID, "err", err)
			continue
		}
		n++
		m.audit(ctx, server.AuditEvent{Kind: server.AuditSignIn, ScreenID: sc.ID, ScreenName: sc.Name, Account: acct.Username,
			Outcome: "success", Detail: fmt.Sprintf("%s, for group %s (%s) from %s", path, g.ID, g.Name, from.Name)})
		m.take(ctx, sc, acct)
		m.publishScreen(ctx, sc.ID)
	}
	m.log.Info("signed a group in", "group", g.ID, "account", acct.Username, "screens", n+1)
}

// take shows an account that was signed in elsewhere (another screen of
// the group) on a screen's session here, ending its own sign-in.
func (m *Manager) take(ctx context.Context, sc server.Screen, acct server.Account) {
	s := m.session(sc.ID)
	if s == nil {
		return // it shows the account when it next connects
	}
	s.mu.Lock()
	if s.stopped || (s.shown != nil && s.shown.w.account.ID == acct.ID) {
		s.mu.Unlock()
		return
	}
	s.setScreenLocked(sc)
	publish := m.showLocked(s, acct)
	s.mu.Unlock()
	select {
	case s.taken <- struct{}{}:
	default:
	}
	if publish {
		m.publish(s)
	}
}

// takeRemote is take for a screen another replica signed in: its
// account is read from the store.
func (m *Manager) takeRemote(ctx context.Context, sc server.Screen) {
	acct, err := m.cfg.Store.Account(ctx, sc.AccountID)
	if err != nil {
		m.log.Warn("reading an account another replica signed in", "screen", sc.ID, "err", err)
		return
	}
	m.take(ctx, sc, acct)
}

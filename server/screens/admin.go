package screens

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
)

// Status is a screen as an administrator sees it.
type Status struct {
	Screen server.Screen
	// Account is who is signed in; zero when nobody is.
	Account server.Account
	// Online is true while a browser is connected to the screen.
	Online bool
	// Phase is what the screen shows now; "" when no browser shows it.
	Phase wire.Phase
	// Clash is true for a waiting screen whose pairing number another
	// waiting screen shows too: it can only be approved by its id.
	Clash bool
}

// SignIn is how screens sign in unless their settings say otherwise.
func (m *Manager) SignIn() string { return m.cfg.SignIn }

// SignInByQR reports whether screens may sign in by QR code: the edge
// server has a public URL that Microsoft sends sign-ins back to.
func (m *Manager) SignInByQR() bool { return m.cfg.PublicURL != "" }

// State is the screen's state for people: pending (waiting for
// enrollment), signed_in, or enrolled (no account).
func (st Status) State() string {
	switch {
	case !st.Screen.Enrolled:
		return "pending"
	case st.Screen.AccountID != "":
		return "signed_in"
	}
	return "enrolled"
}

// Overview returns every screen with who is signed in and whether it is
// shown now, oldest first.
func (m *Manager) Overview(ctx context.Context) ([]Status, error) {
	all, err := m.cfg.Store.Screens(ctx)
	if err != nil {
		return nil, fmt.Errorf("screens: overview: %w", err)
	}
	clashes := waitingClashes(all)
	accounts := map[string]server.Account{}
	out := make([]Status, len(all))
	for i, sc := range all {
		out[i] = Status{Screen: sc, Clash: clashes[sc.ID]}
		if id := sc.AccountID; id != "" {
			a, ok := accounts[id]
			if !ok {
				a, err = m.cfg.Store.Account(ctx, id)
				if err != nil && !server.IsNotFound(err) {
					return nil, fmt.Errorf("screens: overview: %w", err)
				}
				accounts[id] = a
			}
			out[i].Account = a
		}
	}
	for i := range out {
		if s := m.session(out[i].Screen.ID); s != nil {
			s.mu.Lock()
			out[i].Online = s.conns > 0
			out[i].Phase = phaseLocked(s)
			s.mu.Unlock()
		}
	}
	return out, nil
}

// Status returns one screen as Overview does.
func (m *Manager) Status(ctx context.Context, id string) (Status, error) {
	all, err := m.Overview(ctx)
	if err != nil {
		return Status{}, err
	}
	for _, st := range all {
		if st.Screen.ID == id {
			return st, nil
		}
	}
	return Status{}, server.Errorf(server.ENOTFOUND, "no screen has the id %s", id)
}

// Rename gives a screen a new name, shown on the screen at once. The
// browser's page keeps its address (?screen=OLD): its credential, not its
// name, says which screen it is.
func (m *Manager) Rename(ctx context.Context, id, name, by string) (server.Screen, error) {
	name = strings.TrimSpace(name)
	if err := wire.ValidateName(name); err != nil {
		return server.Screen{}, server.Errorf(server.EINVALID, "%v: a screen's name is 1 to %d printable characters", err, wire.MaxNameLength)
	}
	return m.edit(ctx, id, "renaming", func(sc *server.Screen) (server.AuditEvent, bool) {
		if sc.Name == name {
			return server.AuditEvent{}, false
		}
		old := sc.Name
		sc.Name = name
		return server.AuditEvent{Kind: server.AuditScreenRenamed, Detail: fmt.Sprintf("from %q by %s", old, by)}, true
	})
}

// edit changes a stored screen and, when change says it changed something,
// audits the change and applies it on the screen at once.
func (m *Manager) edit(ctx context.Context, id, doing string, change func(*server.Screen) (server.AuditEvent, bool)) (server.Screen, error) {
	var ev server.AuditEvent
	sc, err := m.cfg.Store.UpdateScreen(ctx, id, func(sc *server.Screen) error {
		var changed bool
		if ev, changed = change(sc); !changed {
			return errUnchanged
		}
		return nil
	})
	switch {
	case err == errUnchanged:
		return sc, nil
	case server.IsNotFound(err):
		return sc, server.Errorf(server.ENOTFOUND, "no screen has the id %s", id)
	case err != nil:
		return sc, fmt.Errorf("screens: %s %s: %w", doing, id, err)
	}
	ev.ScreenID, ev.ScreenName, ev.Outcome = sc.ID, sc.Name, "ok"
	m.audit(ctx, ev)
	m.reload(ctx, sc.ID)
	m.publishScreen(ctx, sc.ID)
	return sc, nil
}

// langRE is a BCP 47 language tag as screens use them: "en", "fr", "pt-BR".
var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

// ValidateSettings says what is wrong with a screen's settings, naming the
// field and the form it takes.
func ValidateSettings(set server.ScreenSettings) error {
	if z := set.TimeZone; z != "" {
		if _, err := time.LoadLocation(z); err != nil || z == "Local" || len(z) > 64 {
			return server.Errorf(server.EINVALID, "time zone %q is not an IANA zone name such as Europe/Paris", z)
		}
	}
	if set.Lang != "" && !langRE.MatchString(set.Lang) {
		return server.Errorf(server.EINVALID, "language %q is not a language tag such as en or fr", set.Lang)
	}
	// The hours are read as the screen reads them (ParseHours).
	if _, _, err := ParseHours(set.Hours); err != nil {
		return err
	}
	switch set.SignIn {
	case "", server.SignInDeviceCode, server.SignInQR, server.SignInBoth:
	default:
		return server.Errorf(server.EINVALID, "sign-in %q must be device-code, qr or both (or empty for the edge server's -sign-in)", set.SignIn)
	}
	switch set.Layout {
	case "", server.LayoutDashboard, server.LayoutRoom, server.LayoutRooms, server.LayoutPeople:
	default:
		return server.Errorf(server.EINVALID, "layout %q must be dashboard, room, rooms or people", set.Layout)
	}
	// 0 is the default (10 minutes).
	if n := set.ReleaseAfterMinutes; n < 0 || n > 30 {
		return server.Errorf(server.EINVALID, "release after %d minutes: give 1 to 30 minutes (%d by default)", n, server.DefaultReleaseAfter)
	}
	return validateBoard(set)
}

// Bounds of a board's settings: a board reads its rooms' free/busy 20 at a
// time and its people's presence 650 at a time (one request), and pages
// through more tiles than fit; beyond these it would be a directory, not a
// board.
const (
	maxBoardRooms  = 200
	maxBoardPeople = 650
)

// validateBoard checks a board's settings: addresses that look like
// addresses, a group id of a GUID's characters, and no more than a board
// reads at once.
func validateBoard(set server.ScreenSettings) error {
	for _, f := range []struct {
		name string
		list []string
		max  int
	}{{"rooms", set.Rooms.List(), maxBoardRooms}, {"people", set.People.List(), maxBoardPeople}} {
		if len(f.list) > f.max {
			return server.Errorf(server.EINVALID, "%s: %d addresses, at most %d", f.name, len(f.list), f.max)
		}
		for _, a := range f.list {
			local, domain, ok := strings.Cut(a, "@")
			if !ok || local == "" || domain == "" || len(a) > 254 || strings.ContainsAny(a, "\\\"<>()[]/") || strings.IndexFunc(a, unicode.IsControl) >= 0 {
				return server.Errorf(server.EINVALID, "%s: %q is not an email address or user principal name", f.name, a)
			}
		}
	}
	if g := set.PeopleGroup; g != "" {
		if len(g) > 64 || strings.IndexFunc(g, func(r rune) bool {
			return !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) >= 0 {
			return server.Errorf(server.EINVALID, "group %q is not a group's id (a GUID)", g)
		}
	}
	return nil
}

// SetSettings replaces a screen's settings, applied on the screen at once.
func (m *Manager) SetSettings(ctx context.Context, id string, set server.ScreenSettings, by string) (server.Screen, error) {
	if err := ValidateSettings(set); err != nil {
		return server.Screen{}, err
	}
	if (set.SignIn == server.SignInQR || set.SignIn == server.SignInBoth) && m.cfg.PublicURL == "" {
		return server.Screen{}, server.Errorf(server.EINVALID, "sign-in %q needs an https public URL: Microsoft sends a sign-in back only to https addresses (set -public-url https://... and TLS)", set.SignIn)
	}
	return m.edit(ctx, id, "changing the settings of", func(sc *server.Screen) (server.AuditEvent, bool) {
		if sc.Settings == set {
			return server.AuditEvent{}, false
		}
		sc.Settings = set
		return server.AuditEvent{Kind: server.AuditSettings, Detail: describeSettings(set) + " by " + by}, true
	})
}

func describeSettings(s server.ScreenSettings) string {
	clock := "12h"
	if s.Clock24 {
		clock = "24h"
	}
	release := "off"
	if s.AutoRelease {
		release = fmt.Sprintf("after %v", s.ReleaseAfter())
	}
	out := fmt.Sprintf("time zone %q, %s clock, language %q, privacy %v, hours %q, sign-in %q, quick booking %v, layout %s, actions %v, auto-release %s",
		s.TimeZone, clock, s.Lang, s.Privacy, s.Hours, s.SignIn, !s.NoQuickBook, s.LayoutOrDefault(), s.Actions, release)
	if s.Rooms != "" {
		out += fmt.Sprintf(", rooms %q", string(s.Rooms))
	}
	if s.People != "" {
		out += fmt.Sprintf(", people %q", string(s.People))
	}
	if s.PeopleGroup != "" {
		out += fmt.Sprintf(", group %q", s.PeopleGroup)
	}
	return out
}

// reload shows a screen's new name and settings on the screen at once. The
// change is stored already: a failure here only delays it to the screen's
// next connection.
func (m *Manager) reload(ctx context.Context, id string) {
	if err := m.ReloadSettings(ctx, id); err != nil {
		m.log.Warn("showing a screen's new settings", "screen", id, "err", err)
	}
}

// Changed applies a screen's record, changed in the store by an
// administrator's operation outside this package (a group's settings, a
// move into a group), to the screen at once, here and on every other
// replica.
func (m *Manager) Changed(ctx context.Context, id string) {
	m.reload(ctx, id)
	m.publishScreen(ctx, id)
}

// DescribeSettings is settings as the audit trail reads them.
func DescribeSettings(s server.ScreenSettings) string { return describeSettings(s) }

// Command sends a message to a screen's browsers (an administrator's
// reload or identify): here, when the screen is connected here, and on
// every other replica, whichever holds its connection.
func (m *Manager) Command(ctx context.Context, screenID string, msg wire.Message) error {
	b, err := wire.Encode(msg)
	if err != nil {
		return err
	}
	m.deliver(screenID, b)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.cfg.Cluster.PublishCommand(ctx, screenID, b); err != nil {
		return fmt.Errorf("screens: telling the other replicas to send %s to %s: %w", msg.MessageType(), screenID, err)
	}
	return nil
}

// deliver sends an encoded message to the screen's connections here, in
// the order it comes, beside its states.
func (m *Manager) deliver(screenID string, msg []byte) {
	m.cfg.Publisher.Send(server.Frame{Screen: screenID, Data: [][]byte{msg}})
}

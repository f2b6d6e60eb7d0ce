package admin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/secret"
)

// A group's settings apply to each of its screens, except the fields a
// screen overrides. The screen's record keeps the settings it shows with
// (server.MergeSettings of the group's and its own), so that the screens
// that run it need not know of groups: a change to a group rewrites its
// screens' records, and each is applied at once, here and on every other
// replica, as any change of a screen's settings is.

// GroupSpec is what an administrator gives for a new group, or a changed
// one.
type GroupSpec struct {
	Name     string
	Settings server.ScreenSettings
	// SharedSignIn lets the person who signs in on one screen of the
	// group show the account on all of them, if they choose so on the
	// phone.
	SharedSignIn bool
	// OfflineAfter: how long a screen may be offline before it is
	// reported; 0 is the server's default.
	OfflineAfter time.Duration
	// Webhooks get the group's offline alerts.
	Webhooks []string
}

// MaxGroupWebhooks bounds the alert webhooks of one group.
const MaxGroupWebhooks = 5

// check returns the spec tidied, or what is wrong with it.
func (g GroupSpec) check(m *screens.Manager) (GroupSpec, error) {
	g.Name = strings.TrimSpace(g.Name)
	if g.Name == "" || len(g.Name) > 100 || strings.ContainsFunc(g.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return g, server.Errorf(server.EINVALID, "group name %q: give 1 to 100 printable characters, e.g. Lobby", g.Name)
	}
	if err := checkSettings(m, g.Settings); err != nil {
		return g, err
	}
	if g.OfflineAfter < 0 || (g.OfflineAfter > 0 && g.OfflineAfter < time.Second) || g.OfflineAfter > 7*24*time.Hour {
		return g, server.Errorf(server.EINVALID, "offline_after %s: give a duration from 1s to 168h (e.g. 15m), or 0 for the server's default", g.OfflineAfter)
	}
	if len(g.Webhooks) > MaxGroupWebhooks {
		return g, server.Errorf(server.EINVALID, "%d webhooks: a group has at most %d", len(g.Webhooks), MaxGroupWebhooks)
	}
	for i, h := range g.Webhooks {
		h = strings.TrimSpace(h)
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(h) > 2000 {
			return g, server.Errorf(server.EINVALID, "webhook %q: give an absolute http:// or https:// URL with no user name or password in it", h)
		}
		g.Webhooks[i] = h
	}
	return g, nil
}

// checkSettings says what is wrong with settings, as the screens that run
// them read them.
func checkSettings(m *screens.Manager, set server.ScreenSettings) error {
	if err := screens.ValidateSettings(set); err != nil {
		return err
	}
	if (set.SignIn == server.SignInQR || set.SignIn == server.SignInBoth) && m != nil && !m.SignInByQR() {
		return server.Errorf(server.EINVALID, "sign-in %q needs an https public URL: Microsoft sends a sign-in back only to https addresses (set -public-url https://... and TLS)", set.SignIn)
	}
	return nil
}

// MadeGroup is a new group, with the secret that signs its webhooks (shown
// once, when it has webhooks).
type MadeGroup struct {
	Group         server.Group
	WebhookSecret string
}

// GroupInfo is a group as administrators see it: never its webhooks'
// secret.
type GroupInfo struct {
	Group   server.Group
	Screens int
}

// CreateGroup makes a group. Webhooks, which come with a secret, take an
// admin; the rest an operator.
func (s *Service) CreateGroup(ctx context.Context, by Actor, spec GroupSpec) (MadeGroup, error) {
	if err := by.Check(Operate, "making a group"); err != nil {
		return MadeGroup{}, err
	}
	if len(spec.Webhooks) > 0 {
		if err := by.Check(Administer, "giving a group webhooks (they are signed with a secret)"); err != nil {
			return MadeGroup{}, err
		}
	}
	spec, err := spec.check(s.Screens)
	if err != nil {
		return MadeGroup{}, err
	}
	g := server.Group{ID: "g" + secret.NewID(), Name: spec.Name, Settings: spec.Settings, SharedSignIn: spec.SharedSignIn,
		OfflineAfter: spec.OfflineAfter, Webhooks: spec.Webhooks, CreatedAt: s.now()}
	made := MadeGroup{}
	if len(g.Webhooks) > 0 {
		if made.WebhookSecret, g.WebhookSecret, err = s.newGroupSecret(g.ID); err != nil {
			return MadeGroup{}, fmt.Errorf("making group %q: %w", g.Name, err)
		}
	}
	if err := s.Store.CreateGroup(ctx, g); err != nil {
		if server.ErrorCode(err) == server.ECONFLICT {
			return MadeGroup{}, server.Errorf(server.ECONFLICT, "a group is already named %q: choose another name", g.Name)
		}
		return MadeGroup{}, fmt.Errorf("making group %q: %w", g.Name, err)
	}
	made.Group = g
	made.Group.WebhookSecret = nil
	s.audit(ctx, server.AuditEvent{Kind: server.AuditGroup, Outcome: "created",
		Detail: fmt.Sprintf("group %s (%s): %s by %s", g.ID, g.Name, describeGroup(g), by.Who)})
	return made, nil
}

// newGroupSecret makes the secret that signs a group's webhooks: plain,
// shown once to whoever set the webhooks, and sealed with the server's
// key for the store, as light keys' are, so that a copy of the database
// cannot forge the group's alerts.
func (s *Service) newGroupSecret(id string) (plain string, sealed []byte, err error) {
	if s.Box == nil {
		return "", nil, errors.New("sealing the webhook secret: this server has no key to seal it with")
	}
	plain = lights.NewWebhookSecret()
	if sealed, err = s.Box.Seal([]byte(plain), fleet.SecretLabel(id)); err != nil {
		return "", nil, fmt.Errorf("sealing the webhook secret: %w", err)
	}
	return plain, sealed, nil
}

func describeGroup(g server.Group) string {
	return fmt.Sprintf("%s; shared sign-in %v, offline after %s, %d webhooks", screens.DescribeSettings(g.Settings), g.SharedSignIn, g.OfflineAfter, len(g.Webhooks))
}

// ListGroups lists the groups by name, with how many screens each has.
func (s *Service) ListGroups(ctx context.Context, by Actor) ([]GroupInfo, error) {
	if err := by.Check(Read, "listing groups"); err != nil {
		return nil, err
	}
	groups, err := s.Store.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	all, err := s.Store.Screens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	count := map[string]int{}
	for _, sc := range all {
		count[sc.Group]++
	}
	out := make([]GroupInfo, len(groups))
	for i, g := range groups {
		g.WebhookSecret = nil
		out[i] = GroupInfo{Group: g, Screens: count[g.ID]}
	}
	return out, nil
}

// Group returns one group as ListGroups does.
func (s *Service) Group(ctx context.Context, by Actor, id string) (GroupInfo, error) {
	all, err := s.ListGroups(ctx, by)
	if err != nil {
		return GroupInfo{}, err
	}
	for _, g := range all {
		if g.Group.ID == id {
			return g, nil
		}
	}
	return GroupInfo{}, server.Errorf(server.ENOTFOUND, "no group has the id %s", id)
}

// members returns the screens of a group.
func (s *Service) members(ctx context.Context, groupID string) ([]server.Screen, error) {
	all, err := s.Store.Screens(ctx)
	if err != nil {
		return nil, err
	}
	var out []server.Screen
	for _, sc := range all {
		if sc.Group == groupID {
			out = append(out, sc)
		}
	}
	return out, nil
}

// SetGroupSettings replaces a group's settings; every screen of the group
// shows them at once, but for the fields it overrides.
func (s *Service) SetGroupSettings(ctx context.Context, by Actor, id string, set server.ScreenSettings) (server.Group, error) {
	if err := by.Check(Operate, "changing a group's settings"); err != nil {
		return server.Group{}, err
	}
	m, err := s.running("changing a group's settings")
	if err != nil {
		return server.Group{}, err
	}
	if err := checkSettings(m, set); err != nil {
		return server.Group{}, err
	}
	g, err := s.Store.UpdateGroup(ctx, id, func(g *server.Group) error {
		g.Settings = set
		return nil
	})
	if server.IsNotFound(err) {
		return g, server.Errorf(server.ENOTFOUND, "no group has the id %s", id)
	}
	if err != nil {
		return g, fmt.Errorf("changing the settings of group %s: %w", id, err)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditGroup, Outcome: "settings",
		Detail: fmt.Sprintf("group %s (%s): %s by %s", g.ID, g.Name, screens.DescribeSettings(set), by.Who)})
	n, err := s.applyGroup(ctx, g)
	g.WebhookSecret = nil
	if err != nil {
		return g, fmt.Errorf("changing the settings of group %s: %d screens show them, then: %w", g.Name, n, err)
	}
	return g, nil
}

// UpdateGroup changes a group's name, shared sign-in, offline threshold
// and webhooks (new webhooks take an admin, and a new secret, returned).
func (s *Service) UpdateGroup(ctx context.Context, by Actor, id string, spec GroupSpec) (MadeGroup, error) {
	if err := by.Check(Operate, "changing a group"); err != nil {
		return MadeGroup{}, err
	}
	old, err := s.Store.Group(ctx, id)
	if server.IsNotFound(err) {
		return MadeGroup{}, server.Errorf(server.ENOTFOUND, "no group has the id %s", id)
	}
	if err != nil {
		return MadeGroup{}, fmt.Errorf("changing group %s: %w", id, err)
	}
	spec.Settings = old.Settings
	if spec, err = spec.check(s.Screens); err != nil {
		return MadeGroup{}, err
	}
	hooksChanged := !slices.Equal(spec.Webhooks, old.Webhooks)
	if hooksChanged {
		if err := by.Check(Administer, "changing a group's webhooks (they are signed with a secret)"); err != nil {
			return MadeGroup{}, err
		}
	}
	made := MadeGroup{}
	g, err := s.Store.UpdateGroup(ctx, id, func(g *server.Group) error {
		g.Name, g.SharedSignIn, g.OfflineAfter, g.Webhooks = spec.Name, spec.SharedSignIn, spec.OfflineAfter, spec.Webhooks
		if hooksChanged {
			g.WebhookSecret = nil
			if len(g.Webhooks) > 0 {
				var err error
				if made.WebhookSecret, g.WebhookSecret, err = s.newGroupSecret(g.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return MadeGroup{}, err
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditGroup, Outcome: "changed",
		Detail: fmt.Sprintf("group %s (%s): %s by %s", g.ID, g.Name, describeGroup(g), by.Who)})
	g.WebhookSecret = nil
	made.Group = g
	return made, nil
}

// applyGroup rewrites the settings of a group's screens from the group's,
// and applies them at once. It returns how many it did.
func (s *Service) applyGroup(ctx context.Context, g server.Group) (int, error) {
	members, err := s.members(ctx, g.ID)
	if err != nil {
		return 0, err
	}
	for i, sc := range members {
		if _, err := s.Store.UpdateScreen(ctx, sc.ID, func(sc *server.Screen) error {
			if sc.Group != g.ID {
				return errMoved
			}
			sc.Settings = server.MergeSettings(g.Settings, sc.Settings, sc.Overrides)
			return nil
		}); err != nil && err != errMoved && !server.IsNotFound(err) {
			return i, err
		}
		s.changed(ctx, sc.ID)
	}
	return len(members), nil
}

// errMoved stops the rewrite of a screen that left the group meanwhile.
var errMoved = server.Errorf(server.ECONFLICT, "the screen left the group")

// changed applies a screen's changed record at once, when the server runs.
func (s *Service) changed(ctx context.Context, id string) {
	if s.Screens != nil {
		s.Screens.Changed(ctx, id)
	}
}

// DeleteGroup removes a group: its screens leave it, keeping the settings
// they show with, as their own.
func (s *Service) DeleteGroup(ctx context.Context, by Actor, id string) (server.Group, error) {
	if err := by.Check(Operate, "removing a group"); err != nil {
		return server.Group{}, err
	}
	g, err := s.Store.Group(ctx, id)
	if server.IsNotFound(err) {
		return g, server.Errorf(server.ENOTFOUND, "no group has the id %s", id)
	}
	if err != nil {
		return g, fmt.Errorf("removing group %s: %w", id, err)
	}
	members, err := s.members(ctx, id)
	if err != nil {
		return g, fmt.Errorf("removing group %s: %w", id, err)
	}
	for _, sc := range members {
		if _, err := s.Store.UpdateScreen(ctx, sc.ID, func(sc *server.Screen) error {
			if sc.Group == id {
				sc.Group, sc.Overrides = "", nil
			}
			return nil
		}); err != nil && !server.IsNotFound(err) {
			return g, fmt.Errorf("removing group %s: %w", id, err)
		}
		s.changed(ctx, sc.ID)
	}
	if err := s.Store.DeleteGroup(ctx, id); err != nil && !server.IsNotFound(err) {
		return g, fmt.Errorf("removing group %s: %w", id, err)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditGroup, Outcome: "removed",
		Detail: fmt.Sprintf("group %s (%s), %d screens left it, by %s", g.ID, g.Name, len(members), by.Who)})
	g.WebhookSecret = nil
	return g, nil
}

// SetScreenGroup puts a screen in a group ("" takes it out of its group).
// Joining, it takes the group's settings, overriding none; leaving, it
// keeps the settings it shows with, as its own.
func (s *Service) SetScreenGroup(ctx context.Context, by Actor, screenID, groupID string) (server.Screen, error) {
	if err := by.Check(Operate, "moving a screen into a group"); err != nil {
		return server.Screen{}, err
	}
	var g server.Group
	if groupID != "" {
		var err error
		if g, err = s.Store.Group(ctx, groupID); server.IsNotFound(err) {
			return server.Screen{}, server.Errorf(server.ENOTFOUND, "no group has the id %s (GET /admin/api/groups lists them)", groupID)
		} else if err != nil {
			return server.Screen{}, fmt.Errorf("moving screen %s into group %s: %w", screenID, groupID, err)
		}
	}
	var from string
	sc, err := s.Store.UpdateScreen(ctx, screenID, func(sc *server.Screen) error {
		from = sc.Group
		if sc.Group == groupID {
			return nil
		}
		sc.Group, sc.Overrides = groupID, nil
		if groupID != "" {
			sc.Settings = g.Settings
		}
		return nil
	})
	if server.IsNotFound(err) {
		return sc, server.Errorf(server.ENOTFOUND, "no screen has the id %s", screenID)
	}
	if err != nil {
		return sc, fmt.Errorf("moving screen %s into group %s: %w", screenID, groupID, err)
	}
	if from == groupID {
		return sc, nil
	}
	detail := "out of its group"
	if groupID != "" {
		detail = fmt.Sprintf("into group %s (%s)", g.ID, g.Name)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditScreenGroup, ScreenID: sc.ID, ScreenName: sc.Name, Outcome: "ok",
		Detail: detail + " by " + by.Who})
	s.changed(ctx, sc.ID)
	return sc, nil
}

// SetScreenSettings sets a screen's settings. For a screen in a group,
// only the fields named in overrides are the screen's own (the others
// follow the group); outside a group, they all are.
func (s *Service) SetScreenSettings(ctx context.Context, by Actor, id string, set server.ScreenSettings, overrides []string) (server.Screen, error) {
	if err := by.Check(Operate, "changing a screen's settings"); err != nil {
		return server.Screen{}, err
	}
	m, err := s.running("changing a screen's settings")
	if err != nil {
		return server.Screen{}, err
	}
	if err := checkSettings(m, set); err != nil {
		return server.Screen{}, err
	}
	fields := server.SettingFields()
	for _, o := range overrides {
		if !slices.Contains(fields, o) {
			return server.Screen{}, server.Errorf(server.EINVALID, "no setting is called %q", o)
		}
	}
	cur, err := s.Store.Screen(ctx, id)
	if server.IsNotFound(err) {
		return cur, server.Errorf(server.ENOTFOUND, "no screen has the id %s", id)
	}
	if err != nil {
		return cur, fmt.Errorf("changing the settings of %s: %w", id, err)
	}
	var g server.Group
	if cur.Group != "" {
		if g, err = s.Store.Group(ctx, cur.Group); err != nil && !server.IsNotFound(err) {
			return cur, fmt.Errorf("changing the settings of %s: %w", id, err)
		}
	}
	changed := false
	sc, err := s.Store.UpdateScreen(ctx, id, func(sc *server.Screen) error {
		next, own := set, []string(nil)
		if sc.Group != "" && sc.Group == g.ID {
			own = slices.Sorted(slices.Values(overrides))
			own = slices.Compact(own)
			next = server.MergeSettings(g.Settings, set, own)
		}
		if next == sc.Settings && slices.Equal(own, sc.Overrides) {
			return nil
		}
		changed = true
		sc.Settings, sc.Overrides = next, own
		return nil
	})
	if server.IsNotFound(err) {
		return sc, server.Errorf(server.ENOTFOUND, "no screen has the id %s", id)
	}
	if err != nil {
		return sc, fmt.Errorf("changing the settings of %s: %w", id, err)
	}
	if !changed {
		return sc, nil
	}
	detail := screens.DescribeSettings(sc.Settings)
	if sc.Group != "" {
		detail += fmt.Sprintf(" (its own: %s; the rest from group %s)", strings.Join(sc.Overrides, ", "), g.Name)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditSettings, ScreenID: sc.ID, ScreenName: sc.Name, Outcome: "ok", Detail: detail + " by " + by.Who})
	s.changed(ctx, sc.ID)
	return sc, nil
}

// SignOutGroup signs every screen of a group out.
func (s *Service) SignOutGroup(ctx context.Context, by Actor, id string) (int, error) {
	if err := by.Check(Operate, "signing a group out"); err != nil {
		return 0, err
	}
	m, err := s.running("signing a group out")
	if err != nil {
		return 0, err
	}
	g, err := s.Store.Group(ctx, id)
	if server.IsNotFound(err) {
		return 0, server.Errorf(server.ENOTFOUND, "no group has the id %s", id)
	}
	if err != nil {
		return 0, fmt.Errorf("signing group %s out: %w", id, err)
	}
	members, err := s.members(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("signing group %s out: %w", id, err)
	}
	n := 0
	for _, sc := range members {
		if sc.AccountID == "" {
			continue
		}
		if _, err := m.SignOut(ctx, sc.ID, by.Who+", signing group "+g.Name+" out"); err != nil {
			return n, err
		}
		n++
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditGroup, Outcome: "signed_out",
		Detail: fmt.Sprintf("group %s (%s): %d screens signed out by %s", g.ID, g.Name, n, by.Who)})
	return n, nil
}

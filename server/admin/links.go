package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// A provisioning link enrolls the screens that open it into a group,
// without a pairing approval, as Azure DPS's enrollment groups do: it is
// the address a kiosk starts with (/?link=pln_<id>.<secret>). It works for
// at most MaxScreens screens, until it expires or is revoked; the secret
// is kept only as a hash. A screen that opens a link that no longer works
// waits for a pairing approval instead, with a sentence saying why, never
// an error.

// LinkPrefix begins a link's token: secret scanners recognise one.
const LinkPrefix = "pln_"

// Bounds of a link.
const (
	MaxLinkScreens = 10_000
	MaxLinkLife    = 90 * 24 * time.Hour
)

// LinkSpec is what an administrator asks for when making a link.
type LinkSpec struct {
	Group      string
	MaxScreens int
	ExpiresIn  time.Duration
	// NamePattern names the screens: "{n}" becomes their number.
	NamePattern string
}

// MadeLink is a new link, with its token: shown once.
type MadeLink struct {
	Link  server.Link
	Token string
}

// MakeLink makes a provisioning link for a group.
func (s *Service) MakeLink(ctx context.Context, by Actor, spec LinkSpec) (MadeLink, error) {
	if err := by.Check(Administer, "making a provisioning link"); err != nil {
		return MadeLink{}, err
	}
	if spec.MaxScreens < 1 || spec.MaxScreens > MaxLinkScreens {
		return MadeLink{}, server.Errorf(server.EINVALID, "max_screens %d: a link enrolls 1 to %d screens", spec.MaxScreens, MaxLinkScreens)
	}
	if spec.ExpiresIn < time.Minute || spec.ExpiresIn > MaxLinkLife {
		return MadeLink{}, server.Errorf(server.EINVALID, "expires_in %s: a link lasts from 1m to %s (e.g. 24h)", spec.ExpiresIn, MaxLinkLife)
	}
	spec.NamePattern = strings.TrimSpace(spec.NamePattern)
	if spec.NamePattern != "" {
		// The pattern must make valid names for its largest number.
		if _, err := linkName(spec.NamePattern, spec.MaxScreens); err != nil {
			return MadeLink{}, err
		}
	}
	g, err := s.Store.Group(ctx, spec.Group)
	if server.IsNotFound(err) {
		return MadeLink{}, server.Errorf(server.ENOTFOUND, "no group has the id %s", spec.Group)
	}
	if err != nil {
		return MadeLink{}, fmt.Errorf("making a provisioning link: %w", err)
	}
	tok := secret.New()
	now := s.now()
	l := server.Link{ID: "k" + secret.NewID(), Group: g.ID, Hash: secret.Hash(tok), MaxScreens: spec.MaxScreens,
		ExpiresAt: now.Add(spec.ExpiresIn), NamePattern: spec.NamePattern, CreatedBy: by.Who, CreatedAt: now}
	if err := s.Store.CreateLink(ctx, l); err != nil {
		return MadeLink{}, fmt.Errorf("making a provisioning link: %w", err)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditLink, Outcome: "created",
		Detail: fmt.Sprintf("link %s into group %s (%s), at most %d screens, until %s, names %q, by %s",
			l.ID, g.ID, g.Name, l.MaxScreens, l.ExpiresAt.UTC().Format(time.RFC3339), l.NamePattern, by.Who)})
	l.Hash = nil
	return MadeLink{Link: l, Token: LinkPrefix + l.ID + "." + tok}, nil
}

// ListLinks lists the provisioning links, oldest first: never their
// secrets.
func (s *Service) ListLinks(ctx context.Context, by Actor) ([]server.Link, error) {
	if err := by.Check(Read, "listing provisioning links"); err != nil {
		return nil, err
	}
	all, err := s.Store.Links(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing provisioning links: %w", err)
	}
	for i := range all {
		all[i].Hash = nil
	}
	return all, nil
}

// RevokeLink revokes a provisioning link: it enrolls no screen any more.
// The screens it enrolled stay.
func (s *Service) RevokeLink(ctx context.Context, by Actor, id string) (server.Link, error) {
	if err := by.Check(Administer, "revoking a provisioning link"); err != nil {
		return server.Link{}, err
	}
	l, err := s.Store.UpdateLink(ctx, id, func(l *server.Link) error {
		if l.RevokedAt.IsZero() {
			l.RevokedAt = s.now()
		}
		return nil
	})
	if server.IsNotFound(err) {
		return l, server.Errorf(server.ENOTFOUND, "no provisioning link has the id %s (GET /admin/api/links lists them)", id)
	}
	if err != nil {
		return l, fmt.Errorf("revoking provisioning link %s: %w", id, err)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditLink, Outcome: "revoked",
		Detail: fmt.Sprintf("link %s (%d of %d screens enrolled) by %s", l.ID, l.Used, l.MaxScreens, by.Who)})
	l.Hash = nil
	return l, nil
}

// Enrollment is what a provisioning link gives the screen that opens it:
// a group to enroll into, with its name and number, or, when the link
// does not work, why (a sentence for the pairing screen).
type Enrollment struct {
	Link  server.Link
	Group server.Group
	// Name is the screen's name by the link's pattern ("" when it has
	// none); Number is its number among the link's screens.
	Name   string
	Number int
	// Why says why the link enrolls nobody (a wire.Link* reason, which
	// the pairing screen says in its language), "" when it enrolled;
	// Refused says it in a sentence, for the audit trail and the log.
	Why     string
	Refused string
}

// LinkID returns the id a link's token names, "" for a token of another
// shape: the cookie that remembers a kiosk's screen is keyed by it.
func LinkID(token string) string {
	id, _, ok := parseLink(token)
	if !ok {
		return ""
	}
	return id
}

func parseLink(token string) (id, sec string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), LinkPrefix)
	if !ok || len(token) > 200 {
		return "", "", false
	}
	id, sec, ok = strings.Cut(rest, ".")
	return id, sec, ok && id != "" && sec != ""
}

// errLinkSpent stops the count of a link that may enroll no one more.
var errLinkSpent = errors.New("the link is spent")

// ClaimLink counts a screen against the link a token proves, when it
// still works, and returns the enrollment. Counting is atomic: a link of
// 2 opened by 3 screens at once enrolls 2. A link that does not work is
// audited, and its Enrollment says why; err is for failures of the store.
func (s *Service) ClaimLink(ctx context.Context, token string) (Enrollment, error) {
	id, presented, ok := parseLink(token)
	var l server.Link
	var err error
	if ok {
		l, err = s.Store.Link(ctx, id)
	}
	if !ok || server.IsNotFound(err) || (err == nil && subtle.ConstantTimeCompare(l.Hash, secret.Hash(presented)) != 1) {
		if !ok || server.IsNotFound(err) {
			// Hash anyway, so that an unknown id costs the same time.
			subtle.ConstantTimeCompare(secret.Hash(presented), make([]byte, sha256.Size))
		}
		return s.refuse(ctx, server.Link{}, wire.LinkInvalid, "This screen's provisioning link does not work (mistyped, or made on another edge server)"), nil
	}
	if err != nil {
		return Enrollment{}, fmt.Errorf("opening provisioning link %s: %w", id, err)
	}
	g, err := s.Store.Group(ctx, l.Group)
	if server.IsNotFound(err) {
		return s.refuse(ctx, l, wire.LinkGroupRemoved, "The group of this screen's provisioning link was removed"), nil
	}
	if err != nil {
		return Enrollment{}, fmt.Errorf("opening provisioning link %s: %w", id, err)
	}
	now := s.now()
	var why, sentence string
	l, err = s.Store.UpdateLink(ctx, id, func(l *server.Link) error {
		switch {
		case !l.RevokedAt.IsZero():
			why, sentence = wire.LinkRevoked, "This screen's provisioning link was revoked"
		case !now.Before(l.ExpiresAt):
			why, sentence = wire.LinkExpired, "This screen's provisioning link has expired"
		case l.Used >= l.MaxScreens:
			why, sentence = wire.LinkUsedUp, fmt.Sprintf("This screen's provisioning link has enrolled all the screens it may (%d)", l.MaxScreens)
		default:
			l.Used++
			return nil
		}
		return errLinkSpent
	})
	if errors.Is(err, errLinkSpent) {
		return s.refuse(ctx, l, why, sentence), nil
	}
	if err != nil {
		return Enrollment{}, fmt.Errorf("opening provisioning link %s: %w", id, err)
	}
	e := Enrollment{Link: l, Group: g, Number: l.Used}
	if l.NamePattern != "" {
		e.Name, _ = linkName(l.NamePattern, l.Used)
	}
	return e, nil
}

// refuse audits a link that enrolled nobody and says why.
func (s *Service) refuse(ctx context.Context, l server.Link, why, sentence string) Enrollment {
	what := "an unknown link"
	if l.ID != "" {
		what = "link " + l.ID
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditLink, Outcome: "refused", Detail: what + ": " + sentence})
	l.Hash = nil
	return Enrollment{Link: l, Why: why, Refused: sentence + ": the screen waits for a pairing approval."}
}

// linkName is a pattern's name for screen n.
func linkName(pattern string, n int) (string, error) {
	name := strings.ReplaceAll(pattern, "{n}", strconv.Itoa(n))
	if err := wire.ValidateName(name); err != nil {
		return "", server.Errorf(server.EINVALID, "name pattern %q makes %q: %v", pattern, name, err)
	}
	return name, nil
}

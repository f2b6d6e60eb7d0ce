package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// Admin tokens are "padm_<id>.<secret>": the prefix lets secret scanners
// recognise one, the id finds the stored hash, and the secret is compared
// with it in constant time.
const TokenPrefix = "padm_"

// MadeToken is a new admin token, as shown once.
type MadeToken struct {
	Token server.AdminToken
	// Secret is the whole token to send ("padm_..."): shown once, never
	// stored.
	Secret string
}

// MakeToken makes an admin token called name with a role (admin when
// empty), stores its hash and audits it. The token is returned once and
// never again.
func (s *Service) MakeToken(ctx context.Context, by Actor, name, role string) (MadeToken, error) {
	if err := by.Check(Administer, "making an admin token"); err != nil {
		return MadeToken{}, err
	}
	name = strings.TrimSpace(name)
	if len(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return MadeToken{}, server.Errorf(server.EINVALID, "a token's name is up to 100 printable characters")
	}
	if role == "" {
		role = server.RoleAdmin
	}
	if !ValidRole(role) {
		return MadeToken{}, server.Errorf(server.EINVALID, "role %q: a token's role is admin, operator or viewer", role)
	}
	tok := secret.New()
	t := server.AdminToken{ID: "a" + secret.NewID(), Name: name, Hash: secret.Hash(tok), Role: role, CreatedAt: s.now()}
	if err := s.Store.CreateAdminToken(ctx, t); err != nil {
		return MadeToken{}, fmt.Errorf("making an admin token: %w", err)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditAdminToken, Outcome: "created",
		Detail: fmt.Sprintf("%s, role %s, by %s", describeToken(t), t.Role, by.Who)})
	return MadeToken{Token: t, Secret: TokenPrefix + t.ID + "." + tok}, nil
}

func describeToken(t server.AdminToken) string {
	what := "token " + t.ID
	if t.Name != "" {
		what += " (" + t.Name + ")"
	}
	return what
}

// ListTokens lists the admin tokens, oldest first: never their secrets.
func (s *Service) ListTokens(ctx context.Context, by Actor) ([]server.AdminToken, error) {
	if err := by.Check(Read, "listing admin tokens"); err != nil {
		return nil, err
	}
	all, err := s.Store.AdminTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing admin tokens: %w", err)
	}
	for i := range all {
		all[i].Hash = nil
	}
	return all, nil
}

// RevokeToken deletes an admin token and audits it: it, and the sessions
// it signed in, stop working at once.
func (s *Service) RevokeToken(ctx context.Context, by Actor, id string) error {
	if err := by.Check(Administer, "revoking an admin token"); err != nil {
		return err
	}
	t, err := s.Store.AdminToken(ctx, id)
	if err == nil {
		err = s.Store.DeleteAdminToken(ctx, id)
	}
	if server.IsNotFound(err) {
		return server.Errorf(server.ENOTFOUND, "no admin token has the id %s (placard admin tokens lists them)", id)
	}
	if err != nil {
		return fmt.Errorf("revoking admin token %s: %w", id, err)
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditAdminToken, Outcome: "revoked",
		Detail: fmt.Sprintf("%s by %s", describeToken(t), by.Who)})
	return nil
}

// ParseToken splits a token into its id and secret.
func ParseToken(s string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(s) > 200 {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, ".")
	if !ok || id == "" || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

// ErrBadToken is what a person is told of any token that does not work:
// whether the id exists is not revealed.
var ErrBadToken = server.Errorf(server.EUNAUTHORIZED, "that admin token does not work: make one on the server with `placard admin token`")

// CheckToken returns the stored token that s proves, comparing the
// secret's hash in constant time; any token that does not work is
// ErrBadToken.
func (s *Service) CheckToken(ctx context.Context, tok string) (server.AdminToken, error) {
	id, presented, ok := ParseToken(strings.TrimSpace(tok))
	if !ok {
		return server.AdminToken{}, ErrBadToken
	}
	t, err := s.Store.AdminToken(ctx, id)
	if server.IsNotFound(err) {
		// Hash anyway, so that an unknown id costs the same time.
		subtle.ConstantTimeCompare(secret.Hash(presented), make([]byte, sha256.Size))
		return server.AdminToken{}, ErrBadToken
	}
	if err != nil {
		return server.AdminToken{}, fmt.Errorf("checking an admin token: %w", err)
	}
	if subtle.ConstantTimeCompare(t.Hash, secret.Hash(presented)) != 1 {
		return server.AdminToken{}, ErrBadToken
	}
	return t, nil
}

// TokenActor is the actor an admin token proves.
func TokenActor(t server.AdminToken) Actor {
	role := t.Role
	if role == "" {
		role = server.RoleAdmin
	}
	return Actor{Who: "admin " + describeToken(t), Role: role, TokenID: t.ID}
}
